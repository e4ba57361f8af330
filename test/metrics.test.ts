// GET /metrics after a known traffic mix through the proxy and the fake upstream: exact request counts by
// team/model/provider/status class, exact nano-USD spend and tokens, allow-listed tag series, latency
// histogram counts, guardrail and budget counters, budget gauges, dependency health; scrape auth.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { metricsEnabled } from '../src/metrics/plugin.js';
import { pollUntil } from '../src/retry.js';
import { HOUSE_PRICES, type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY, testConfig } from './helpers/testApp.js';

const TEAM_KEY = 'sk-team-a-key-0001';
const SCRAPE_TOKEN = 'prometheus-scrape-token-0001';

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({
    metrics: { enabled: true, token: SCRAPE_TOKEN, tag_allow_list: ['app:web'], budget_refresh_seconds: 5 },
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        model_info: HOUSE_PRICES,
      },
      {
        model_name: 'flaky',
        litellm_params: { model: 'openai/fail-429', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        model_info: HOUSE_PRICES,
      },
    ],
    keys: [{ key: TEAM_KEY, key_alias: 'team-a-key', team_id: 'team-a' }],
    guardrails: { rules: [{ patterns: ['email'], action: 'mask' }] },
  }));
});
after(async () => h.close());

/** `name{a="x",b="y"}` (labels sorted) → value. */
function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = (match[2] ?? '').match(/\w+="(?:[^"\\]|\\.)*"/g) ?? [];
    samples.set(`${match[1]}{${labels.sort().join(',')}}`, Number(match[3]));
  }
  return samples;
}

async function scrape(auth: string | null = `Bearer ${SCRAPE_TOKEN}`): Promise<Response> {
  return fetch(`${h.origin}/metrics`, { headers: auth ? { authorization: auth } : {} });
}

async function samples(): Promise<Map<string, number>> {
  const response = await scrape();
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  return parseSamples(await response.text());
}

test('enabled by metrics.enabled or litellm_settings.callbacks: ["prometheus"]', () => {
  assert.equal(metricsEnabled(testConfig({})), false);
  assert.equal(metricsEnabled(testConfig({ litellm_settings: { callbacks: ['prometheus'] } })), true);
  assert.equal(metricsEnabled(testConfig({ metrics: { enabled: true } })), true);
  assert.equal(
    metricsEnabled(testConfig({ metrics: { enabled: false }, litellm_settings: { callbacks: ['prometheus'] } })),
    false,
  );
});

test('scrape auth: the token or the master key; no key 401, a plain virtual key 403', async () => {
  assert.equal((await scrape(null)).status, 401);
  assert.equal((await scrape(`Bearer ${TEAM_KEY}`)).status, 403);
  assert.equal((await scrape(`Bearer ${TEST_MASTER_KEY}`)).status, 200);
  assert.equal((await scrape()).status, 200);
});

test('a known traffic mix shows exact counts, spend, tokens, tag series and histogram counts', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  const team = h.openai(TEAM_KEY);
  const master = h.openai(TEST_MASTER_KEY);
  const messages = [{ role: 'user' as const, content: 'hi' }];
  // 3 JSON calls (2 tagged app:web, 1 with an email the guardrail masks) and 1 stream: $0.002 each.
  // @ts-expect-error Spendhouse's body field for tags
  await team.chat.completions.create({ model: 'house-gpt', messages, tags: ['app:web'] });
  // @ts-expect-error Spendhouse's body field for tags
  await team.chat.completions.create({ model: 'house-gpt', messages, tags: ['app:web', 'other'] });
  await team.chat.completions.create({ model: 'house-gpt', messages: [{ role: 'user', content: 'me@x.io' }] });
  const stream = await team.chat.completions.create({ model: 'house-gpt', messages, stream: true });
  for await (const _chunk of stream) {
    // drain
  }
  // 2 upstream 429s and 1 unknown model, with the master key (no team).
  for (const model of ['flaky', 'flaky', 'no-such-model']) {
    await master.chat.completions.create({ model, messages }).catch(() => null);
  }
  await h.records(7);

  const expected: Record<string, number> = {
    'spendhouse_requests_total{model="house-gpt",provider="openai",status_class="2xx",team="team-a"}': 4,
    'spendhouse_requests_total{model="flaky",provider="openai",status_class="4xx",team=""}': 2,
    'spendhouse_requests_total{model="(unrouted)",provider="",status_class="4xx",team=""}': 1,
    'spendhouse_spend_nano_total{model="house-gpt",provider="openai",team="team-a"}': 8_000_000,
    'spendhouse_tokens_total{kind="prompt",model="house-gpt",provider="openai",team="team-a"}': 4000,
    'spendhouse_tokens_total{kind="completion",model="house-gpt",provider="openai",team="team-a"}': 2000,
    'spendhouse_tag_requests_total{status_class="2xx",tag="app:web"}': 2,
    'spendhouse_tag_spend_nano_total{tag="app:web"}': 4_000_000,
    'spendhouse_ttft_seconds_count{model="house-gpt",provider="openai"}': 1,
    'spendhouse_upstream_latency_seconds_count{model="house-gpt",provider="openai"}': 4,
    'spendhouse_upstream_latency_seconds_count{model="flaky",provider="openai"}': 2,
    'spendhouse_proxy_overhead_seconds_count{provider="openai"}': 6,
    'spendhouse_request_duration_seconds_count{model="house-gpt",provider="openai"}': 4,
    'spendhouse_guardrail_hits_total{action="mask",pattern="email"}': 1,
  };
  // Some series are observed when a response has been sent (after the client has it): wait for them, then
  // let the assertions name any that never arrived.
  let s = await samples();
  const arrived = async () => {
    s = await samples();
    return Object.entries(expected).every(([series, value]) => s.get(series) === value);
  };
  await pollUntil(arrived, { everyMs: 10, timeoutMs: 5000 }).catch(() => undefined);
  for (const [series, value] of Object.entries(expected)) assert.equal(s.get(series), value, series);
  assert.equal(s.get('spendhouse_spend_nano_total{model="flaky",provider="openai",team=""}'), undefined);
  assert.ok(![...s.keys()].some((k) => k.includes('tag="other"')), 'tags outside the allow-list are not labels');
  for (const dependency of ['clickhouse', 'redis']) {
    assert.equal(s.get(`spendhouse_dependency_up{dependency="${dependency}"}`), 1);
  }
  assert.equal(s.get('spendhouse_ingest_oldest_record_age_seconds{}'), 0);
  assert.ok(s.has('spendhouse_ingest_dead_letters{}'));
  assert.ok(s.has('process_cpu_user_seconds_total{}'));
});

test('budget refusals by scope, and budget gauges for teams and keys refreshed from the ledger', async () => {
  const post = (url: string, body: unknown) =>
    fetch(`${h.origin}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  const team = await post('/team/new', { team_alias: 'gauged', max_budget: 0.0025 });
  assert.equal(team.status, 200);
  const key = await post('/key/generate', { team_id: team.body.team_id, key_alias: 'gauged-key', max_budget: 1 });
  const client = h.openai(String(key.body.key));
  const messages = [{ role: 'user' as const, content: 'hi' }];
  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 500 });
  await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 500 }).catch(() => null);

  let s = await samples();
  assert.equal(s.get('spendhouse_budget_refusals_total{reason="budget",scope="team"}'), 1);
  // Gauges refresh every 5 s here (metrics.budget_refresh_seconds): wait for the first refresh that sees them.
  const series = 'spendhouse_budget_spend_nano{scope="gauged",scope_type="team"}';
  const refreshed = async () => {
    s = await samples();
    return s.get(series) === 2_000_000;
  };
  await pollUntil(refreshed, { everyMs: 50, timeoutMs: 10_000 }).catch(() => undefined);
  assert.equal(s.get(series), 2_000_000);
  assert.equal(s.get('spendhouse_budget_max_nano{scope="gauged",scope_type="team"}'), 2_500_000);
  assert.equal(s.get('spendhouse_budget_remaining_nano{scope="gauged",scope_type="team"}'), 500_000);
  assert.equal(s.get('spendhouse_budget_utilisation_ratio{scope="gauged",scope_type="team"}'), 0.8);
  assert.equal(s.get('spendhouse_budget_spend_nano{scope="gauged-key",scope_type="key"}'), 2_000_000);
  assert.equal(s.get('spendhouse_budget_max_nano{scope="gauged-key",scope_type="key"}'), 1_000_000_000);
});
