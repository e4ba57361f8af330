// Records that did not pass through the proxy (POST /ingest/v1/records) count against budgets: a team's
// hard budget filled by ingested spend refuses the next proxied call, and a re-sent payload counts once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ledgerKeys } from '../src/budgets/ledger.js';
import { LIFETIME } from '../src/periods.js';
import { type ProxyHarness, proxyTestModels, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({ model_list: proxyTestModels(fake) }));
});
after(async () => h.close());

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${h.origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

test('ingested spend fills a team budget; the next proxied call is refused; a re-send counts once', async () => {
  const team = await admin('/team/new', { team_alias: 'batch-team', max_budget: 0.01 });
  const teamId = String(team.team_id);
  const { key } = (await admin('/key/generate', { team_id: teamId })) as { key: string };
  const client = h.openai(key);
  const messages = [{ role: 'user' as const, content: 'hi' }];
  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  // $0.002 actual; worst case ≈ $0.001 — admitted against an empty $0.01 budget.
  await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 500 });

  const now = new Date().toISOString();
  const records = [1, 2].map((i) => ({
    request_id: `batch-job-${i}`,
    start_time: now,
    model: 'house-gpt',
    team_id: teamId,
    cost_usd: '0.003500000',
  }));
  const ingest = async () => (await admin('/ingest/v1/records', records)) as { accepted: number; duplicate: number };
  assert.deepEqual(await ingest().then((r) => [r.accepted, r.duplicate]), [2, 0]);
  // Spent $0.002 + $0.007 ingested = $0.009; a call whose worst case is ≈ $0.001 more no longer fits.
  const refused = await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 500 }).then(
    () => null,
    (e: { status?: number; message?: string }) => e,
  );
  assert.equal(refused?.status, 429, 'ingested spend must count against the team budget');
  assert.match(refused?.message ?? '', /Budget exceeded for team batch-team/);
  const counter = await h.app.budgetLedger.read(ledgerKeys.scope(`team:${teamId}`, LIFETIME));
  assert.equal(counter.spent, 9_000_000, 'team counter = $0.002 proxied + 2 × $0.0035 ingested, in nano-USD');

  assert.deepEqual(await ingest().then((r) => [r.accepted, r.duplicate]), [0, 2]);
  const again = await client.chat.completions.create({ model: 'house-gpt', messages, max_tokens: 1 }).then(
    () => 'admitted',
    (e: { message?: string }) => e.message ?? '',
  );
  // A max_tokens=1 call fits in the remaining $0.001 only if the re-send was not counted again.
  assert.equal(again, 'admitted');
});
