// The seed's promise end to end over real HTTP: the three curl snippets run verbatim with the curl binary
// (so the JSON arrives labelled application/x-www-form-urlencoded), then alice@acme.com calls the proxy
// (fake upstream) until her $50 is spent, and every further call is a 429 budget_exceeded that the OpenAI
// SDKs will not retry.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const run = promisify(execFile);
let h: ProxyHarness;

before(async () => {
  h = await startProxyHarness((fake) => ({
    model_list: [
      {
        model_name: 'gpt-4o',
        litellm_params: { model: 'openai/gpt-4o', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        // Expensive on purpose: one call costs dollars, so $50 goes in a few calls.
        model_info: { input_cost_per_token: 0.5, output_cost_per_token: 1 },
      },
    ],
  }));
  h.fake.setDefaults({ usage: { promptTokens: 10, completionTokens: 5 } });
});
after(async () => h.close());

async function curl(path: string, json: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('curl', [
    '-s',
    '-X',
    'POST',
    `${h.origin}${path}`,
    '-H',
    `Authorization: Bearer ${TEST_MASTER_KEY}`,
    '-d',
    json,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('seed curl flow over HTTP, then alice hits $50 and every call returns 429', async () => {
  const team = await curl('/team/new', '{"team_alias":"frontend-team","max_budget":1000}');
  assert.equal(team.team_alias, 'frontend-team', JSON.stringify(team));
  const user = await curl('/user/new', `{"user_email":"alice@acme.com","team_id":"${team.team_id}","max_budget":50}`);
  assert.equal(user.user_email, 'alice@acme.com', JSON.stringify(user));
  const key = await curl('/key/generate', `{"user_id":"${user.user_id}"}`);
  const secret = String(key.key);
  assert.match(secret, /^sk-/, JSON.stringify(key));

  const call = () =>
    fetch(`${h.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
  let ok = 0;
  let first429: Response | null = null;
  for (let i = 0; i < 20 && !first429; i++) {
    const response = await call();
    if (response.status === 200) {
      ok++;
      await response.text();
    } else first429 = response;
  }
  assert.ok(ok >= 3, `${ok} calls were admitted`);
  assert.ok(first429, 'the budget was never enforced');
  assert.equal(first429.status, 429);
  assert.equal(first429.headers.get('x-should-retry'), 'false');
  const body = (await first429.json()) as { error: Record<string, unknown> };
  assert.equal(body.error.type, 'budget_exceeded');
  assert.equal(body.error.code, 'budget_exceeded');
  assert.equal(body.error.param, null);
  assert.match(String(body.error.message), /^Budget exceeded for user alice@acme\.com: spent \$\d+\.\d\d of \$50\.00$/);
  for (let i = 0; i < 3; i++) {
    const again = await call();
    assert.equal(again.status, 429, 'all subsequent calls');
    await again.text();
  }
  const records = await h.records(ok);
  const spent = records.filter((r) => r.status === 200).reduce((sum, r) => sum + r.cost_nano, 0);
  assert.ok(spent <= 50e9, `spent ${spent} nano of 50e9`);
  assert.equal(h.fake.requests.length, ok, 'refused calls never reached the upstream');
});

test('rate limits over HTTP: x-ratelimit-* on admitted calls, 429 rate_limit_exceeded past rpm_limit', async () => {
  const key = await curl('/key/generate', '{"key_alias":"rpm-one","rpm_limit":1}');
  const call = () =>
    fetch(`${h.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
  const first = await call();
  assert.equal(first.status, 200);
  await first.text();
  assert.equal(first.headers.get('x-ratelimit-limit-requests'), '1');
  assert.equal(first.headers.get('x-ratelimit-remaining-requests'), '0');
  assert.match(first.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
  // Two more calls: even if a minute boundary falls between them, one of them is over the limit.
  const more = [await call(), await call()];
  const second = more.find((r) => r.status === 429);
  assert.ok(second, JSON.stringify(more.map((r) => r.status)));
  assert.ok(Number(second.headers.get('retry-after')) >= 1);
  assert.equal(second.headers.get('x-should-retry'), null, 'SDK retries are fine for rate limits');
  const body = (await second.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'rate_limit_exceeded');
  assert.equal(body.error.message, 'Rate limit exceeded for key rpm-one: 1 of 1 requests per minute');
});
