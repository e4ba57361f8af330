// Reconciliation with the providers' bills against local fakes of OpenAI's Costs API and Anthropic's cost
// report (pagination included): Spendhouse's spend arrives through the ingest API into the real rollups, the
// importer reads both reports into ClickHouse, GET /spend/reconciliation shows provider / Spendhouse / drift
// per day × provider × model, a re-import replaces a day, a drift past the threshold alerts once per
// day × provider once the day has settled (never on a first import of yesterday), and provider errors (401, 429 + Retry-After, 500, a looping cursor) and hostile report
// values end in a status, never in a crash.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { sql } from '../src/clickhouse/sql.js';
import { anthropicAmountNano, openAiAmountNano } from '../src/reconciliation/amounts.js';
import { DEFAULT_HTTP_POLICY, type HttpPolicy, retryAfterMs } from '../src/reconciliation/providerHttp.js';
import { driftPercent, modelKey, type ReconciliationRow } from '../src/reconciliation/report.js';
import { ReconciliationImporter } from '../src/reconciliation/service.js';
import { resolveReconciliationSettings } from '../src/reconciliation/settings.js';
import {
  FAKE_ANTHROPIC_ADMIN_KEY,
  FAKE_OPENAI_ADMIN_KEY,
  type FakeCostApis,
  startFakeCostApis,
} from './helpers/fakeCostApis.js';
import { spendRecord, waitForRows } from './helpers/ingestRecords.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig, testEnv } from './helpers/testApp.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';

describe('provider amounts and drift arithmetic', () => {
  test('OpenAI USD numbers and Anthropic cent strings become exact nano-USD', () => {
    assert.equal(openAiAmountNano(0.06, 'usd'), 60_000_000);
    assert.equal(openAiAmountNano(0.1 + 0.2, 'usd'), 300_000_000);
    assert.equal(openAiAmountNano(-1.5, 'USD'), -1_500_000_000);
    assert.equal(anthropicAmountNano('123.45', 'USD'), 1_234_500_000);
    assert.equal(anthropicAmountNano('0.000001', 'USD'), 10);
    assert.equal(anthropicAmountNano('7', 'USD'), 70_000_000);
    assert.equal(anthropicAmountNano('-250', 'USD'), -2_500_000_000);
  });

  test('hostile amounts are refused by name, never NaN', () => {
    for (const [value, currency] of [
      [Number.NaN, 'usd'],
      [Number.POSITIVE_INFINITY, 'usd'],
      [1e300, 'usd'],
      ['1', 'usd'],
      [1, 'eur'],
      [1, null],
    ] as const) {
      assert.throws(() => openAiAmountNano(value, currency), /amount|currency/);
    }
    for (const amount of ['1e5', '', '-', '12.3.4', ' 1 2', '9'.repeat(40), 12, null, { value: 1 }]) {
      assert.throws(() => anthropicAmountNano(amount, 'USD'), /amount|decimal/);
    }
    assert.throws(() => anthropicAmountNano('1', 'EUR'), /currency/);
  });

  test('drift percent is exact to two decimals; model keys drop dated snapshots', () => {
    assert.equal(driftPercent(-500_000_000n, 1_500_000_000n), '-33.33');
    assert.equal(driftPercent(1n, 3n), '33.33');
    assert.equal(driftPercent(2n, 3n), '66.67');
    assert.equal(driftPercent(0n, 5n), '0.00');
    assert.equal(driftPercent(5n, 0n), null);
    assert.equal(modelKey('gpt-4o-mini-2024-07-18'), 'gpt-4o-mini');
    assert.equal(modelKey('claude-sonnet-4-20250514'), 'claude-sonnet-4');
    assert.equal(retryAfterMs('7'), 7000);
    assert.equal(retryAfterMs('soon'), null);
  });
});

interface Alert {
  event: string;
  day?: string;
  provider?: string;
  drift_usd?: string;
}

describe('importing the providers’ cost reports', () => {
  const NOW = new Date('2026-12-07T10:00:00Z');
  const received: Alert[] = [];
  const receiver = webhookReceiver(received);
  let fakes: FakeCostApis;
  let t: TestApp;
  const sleeps: number[] = [];
  const policy: HttpPolicy = { ...DEFAULT_HTTP_POLICY, sleep: async (ms) => void sleeps.push(ms) };
  const importer = (reconciliation?: Record<string, unknown>) =>
    new ReconciliationImporter({
      warehouse: t.app.warehouse,
      redis: t.app.redis,
      alerts: t.app.alerts,
      settings: resolveReconciliationSettings(
        reconciliation
          ? { ...t.config.file, reconciliation: { ...t.config.file.reconciliation, ...reconciliation } }
          : t.config.file,
      ),
      models: t.config.models,
      log: t.app.log,
      policy,
    });
  const table = async (query = 'from=2026-12-04&to=2026-12-07') => {
    const res = await t.app.inject({
      url: `/spend/reconciliation?${query}`,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    return {
      status: res.statusCode,
      body: res.json() as {
        rows: ReconciliationRow[];
        imports: { provider: string; ok: boolean }[];
        from: string;
        to: string;
        providers: string[];
      },
    };
  };
  const row = (rows: ReconciliationRow[], day: string, provider: string, model: string | null, lineItem?: string) =>
    rows.find(
      (r) =>
        r.day === day &&
        r.provider === provider &&
        r.model === model &&
        (lineItem === undefined || r.line_items.includes(lineItem)),
    );

  before(async () => {
    fakes = await startFakeCostApis();
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // Role proxy + an in-process ingest worker: the routes and the ingest pipeline, no background import
    // (each test runs the importer itself, with a sleep that records instead of waiting).
    const config = testConfig(
      {
        model_list: [
          { model_name: 'house-gpt', litellm_params: { model: 'openai/gpt-4o-mini', api_key: 'sk-x' } },
          {
            model_name: 'house-claude',
            litellm_params: { model: 'anthropic/claude-sonnet-4-20250514', api_key: 'sk-y' },
          },
        ],
        alerts: { webhook_url: hook },
        reconciliation: {
          openai: { admin_key: FAKE_OPENAI_ADMIN_KEY, api_base: fakes.origin },
          anthropic: { admin_key: FAKE_ANTHROPIC_ADMIN_KEY, api_base: fakes.origin },
          lookback_days: 3,
          drift_alert_percent: 5,
          drift_alert_min_usd: 0.25,
        },
      },
      testEnv({ SPENDHOUSE_ROLE: 'proxy' }),
    );
    t = await startTestApp(config, { ingestWorker: true });
    const at = (day: string) => `${day}T12:00:00.000Z`;
    const records = [
      spendRecord('recon', 1, {
        model: 'house-gpt',
        upstream_model: 'gpt-4o-mini',
        provider: 'openai',
        cost_nano: 1_500_000_000,
        start_time: at('2026-12-05'),
        source: 'ingest',
      }),
      spendRecord('recon', 2, {
        model: 'house-gpt',
        upstream_model: 'gpt-4o-mini',
        provider: 'openai',
        cost_nano: 500_000_000,
        start_time: at('2026-12-05'),
        source: 'ingest',
      }),
      spendRecord('recon', 3, {
        model: 'house-claude',
        upstream_model: 'claude-sonnet-4-20250514',
        provider: 'anthropic',
        cost_nano: 3_000_000_000,
        start_time: at('2026-12-05'),
        source: 'ingest',
      }),
      spendRecord('recon', 4, {
        model: 'house-gpt',
        upstream_model: 'gpt-4o-mini',
        provider: 'openai',
        cost_nano: 1_000_000_000,
        start_time: at('2026-12-06'),
        source: 'ingest',
      }),
    ].map((r) => ({ ...r, status: 200, error_type: null }));
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/v1/records',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify(records),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await waitForRows(t.app.warehouse, records.length, 'recon-')).n, records.length);
    // spend_logs' part is visible before the materialized views have written theirs: wait for the rollup.
    const total = records.reduce((sum, r) => sum + r.cost_nano, 0);
    const daily = async () =>
      (
        await t.app.warehouse.rows(sql`SELECT sum(cost_nano) AS s FROM spend_daily`, z.object({ s: z.coerce.number() }))
      )[0]?.s;
    const deadline = Date.now() + 30_000;
    while ((await daily()) !== total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await daily(), total);
  });
  after(async () => {
    await t?.close();
    await fakes?.close();
    receiver.close();
  });

  const resetFakes = () => {
    for (const fake of [fakes.openai, fakes.anthropic]) {
      fake.days.clear();
      fake.failures.length = 0;
      fake.requests.length = 0;
      fake.cursorOverride = null;
      fake.pageSize = 2;
    }
    sleeps.length = 0;
  };
  const usd = (value: number) => ({ value, currency: 'usd' });
  const claude = (amount: string, tokenType: string) => ({
    amount,
    currency: 'USD',
    description: `Claude Sonnet 4 Usage - ${tokenType}`,
    model: 'claude-sonnet-4-20250514',
    cost_type: 'tokens',
    token_type: tokenType,
    service_tier: 'standard',
    context_window: '0-200k',
    workspace_id: null,
  });
  const billDays = () => {
    fakes.openai.days.set('2026-12-04', []);
    fakes.openai.days.set('2026-12-05', [
      { line_item: 'gpt-4o-mini-2024-07-18, input', amount: usd(1.2) },
      { line_item: 'gpt-4o-mini-2024-07-18, output', amount: usd(0.8) },
      { line_item: 'web search tool calls', amount: usd(0.05) },
    ]);
    fakes.openai.days.set('2026-12-06', [{ line_item: 'gpt-4o-mini-2024-07-18, input', amount: usd(1.5) }]);
    fakes.anthropic.days.set('2026-12-04', []);
    fakes.anthropic.days.set('2026-12-05', [
      claude('250.00', 'uncached_input_tokens'),
      claude('50.5', 'output_tokens'),
    ]);
    fakes.anthropic.days.set('2026-12-06', []);
  };

  test('both reports are imported page by page and set beside Spendhouse per day × provider × model', async () => {
    resetFakes();
    billDays();
    const statuses = await importer().runOnce(NOW);
    assert.deepEqual(
      statuses.map((s) => [s.provider, s.ok, s.days, s.skipped.length]),
      [
        ['openai', true, 3, 0],
        ['anthropic', true, 3, 0],
      ],
    );
    // Three days at two buckets a page: the second request carries the first page's cursor.
    for (const fake of [fakes.openai, fakes.anthropic]) {
      assert.equal(fake.requests.length, 2);
      assert.equal(fake.requests[0]?.searchParams.get('page'), null);
      assert.match(fake.requests[1]?.searchParams.get('page') ?? '', /^page_/);
    }
    assert.equal(fakes.openai.requests[0]?.searchParams.get('group_by'), 'line_item');
    assert.equal(
      fakes.openai.requests[0]?.searchParams.get('start_time'),
      String(Date.parse('2026-12-04T00:00:00Z') / 1000),
    );
    assert.equal(fakes.anthropic.requests[0]?.searchParams.get('group_by[]'), 'description');
    assert.equal(fakes.anthropic.requests[0]?.searchParams.get('starting_at'), '2026-12-04T00:00:00.000Z');

    const { status, body } = await table();
    assert.equal(status, 200);
    assert.deepEqual([body.from, body.to, body.providers], ['2026-12-04', '2026-12-07', ['openai', 'anthropic']]);
    const gpt5 = row(body.rows, '2026-12-05', 'openai', 'gpt-4o-mini');
    assert.deepEqual(
      gpt5 && [gpt5.provider_cost_nano, gpt5.spendhouse_cost_nano, gpt5.drift_nano, gpt5.drift_percent],
      ['2000000000', '2000000000', '0', '0.00'],
    );
    assert.deepEqual(gpt5?.spendhouse_models, ['house-gpt']);
    assert.equal(gpt5?.line_items.length, 2);
    const search = row(body.rows, '2026-12-05', 'openai', null, 'web search tool calls');
    assert.deepEqual(search && [search.provider_cost_usd, search.spendhouse_cost_usd, search.drift_usd], [
      '0.050000000',
      '0.000000000',
      '-0.050000000',
    ]);
    const gpt6 = row(body.rows, '2026-12-06', 'openai', 'gpt-4o-mini');
    assert.deepEqual(gpt6 && [gpt6.provider_cost_usd, gpt6.spendhouse_cost_usd, gpt6.drift_usd, gpt6.drift_percent], [
      '1.500000000',
      '1.000000000',
      '-0.500000000',
      '-33.33',
    ]);
    const claude5 = row(body.rows, '2026-12-05', 'anthropic', 'claude-sonnet-4');
    assert.deepEqual(
      claude5 && [claude5.provider_cost_nano, claude5.spendhouse_cost_nano, claude5.drift_nano, claude5.drift_percent],
      ['3005000000', '3000000000', '-5000000', '-0.17'],
    );
    assert.deepEqual(body.imports.map((i) => [i.provider, i.ok]).sort(), [
      ['anthropic', true],
      ['openai', true],
    ]);

    // The drift past 5% and $0.25 (openai, 2026-12-06) is yesterday's, a first import of a day the provider
    // has not settled: no alert yet (the test after next sends it); the -0.17% and the $0.05 never alert.
    await t.app.alerts.drain();
    assert.deepEqual(
      received.filter((a) => a.event === 'reconciliation_drift'),
      [],
    );
  });

  test('a re-import replaces the day whole (changed and dropped line items), never doubles, never re-alerts', async () => {
    resetFakes();
    billDays();
    fakes.openai.days.set('2026-12-05', [{ line_item: 'gpt-4o-mini-2024-07-18, input', amount: usd(1.8) }]);
    await importer().runOnce(NOW);
    await importer().runOnce(NOW);
    const { body } = await table();
    const gpt5 = row(body.rows, '2026-12-05', 'openai', 'gpt-4o-mini');
    assert.deepEqual(gpt5 && [gpt5.provider_cost_nano, gpt5.drift_nano, gpt5.line_items], [
      '1800000000',
      '200000000',
      ['gpt-4o-mini-2024-07-18, input'],
    ]);
    assert.equal(row(body.rows, '2026-12-05', 'openai', null, 'web search tool calls'), undefined);
    assert.equal(row(body.rows, '2026-12-05', 'anthropic', 'claude-sonnet-4')?.provider_cost_nano, '3005000000');
    await t.app.alerts.drain();
    // 2026-12-05 openai is now +11.11% and $0.20 (< $0.25): still quiet; 2026-12-06 has not settled.
    assert.equal(received.filter((a) => a.event === 'reconciliation_drift').length, 0);
  });

  test('a day’s drift alerts once the day has settled (two full days after it), then never again', async () => {
    resetFakes();
    billDays();
    const drifts = async () => {
      await t.app.alerts.drain();
      return received.filter((a) => a.event === 'reconciliation_drift').map((a) => [a.provider, a.day, a.drift_usd]);
    };
    // 2026-12-08, mid-day: 2026-12-06 ended 34 hours ago, not two full days.
    await importer().runOnce(new Date('2026-12-08T10:00:00Z'));
    assert.deepEqual(await drifts(), []);
    // Two full UTC days after it ended: settled, and still within the lookback (2026-12-06..08).
    await importer().runOnce(new Date('2026-12-09T00:30:00Z'));
    assert.deepEqual(await drifts(), [['openai', '2026-12-06', '-0.500000000']]);
    await importer().runOnce(new Date('2026-12-09T10:00:00Z'));
    assert.deepEqual(await drifts(), [['openai', '2026-12-06', '-0.500000000']]);
    // A lookback of two days re-reads no settled day: nothing to alert, whatever the drift.
    resetFakes();
    fakes.openai.days.set('2026-12-08', [{ line_item: 'gpt-4o-mini-2024-07-18, input', amount: usd(9) }]);
    await importer({ lookback_days: 2 }).runOnce(new Date('2026-12-10T10:00:00Z'));
    assert.deepEqual(await drifts(), [['openai', '2026-12-06', '-0.500000000']]);
  });

  test('hostile report values are skipped by name; the sane lines of the same day still land', async () => {
    resetFakes();
    fakes.openai.days.set('2026-12-06', [
      { line_item: 'gpt-4o-mini, input', amount: { value: '1', currency: 'usd' } },
      { line_item: 'gpt-4o-mini, output', amount: { value: 1e300, currency: 'usd' } },
      { line_item: 'gpt-4o-mini, cached input', amount: { value: 0.1, currency: 'eur' } },
      { line_item: `\u202eevil\u0000${'x'.repeat(5000)}`, amount: usd(0.25) },
      { line_item: 'gpt-4o-mini-2024-07-18, input', amount: usd(1.5) },
      {},
      null,
      'not an object',
    ]);
    fakes.anthropic.days.set('2026-12-06', [
      { ...claude('1e5', 'output_tokens') },
      { ...claude('12', 'output_tokens'), amount: 12 },
      { ...claude('-100', 'uncached_input_tokens'), description: 'Credit' },
    ]);
    const statuses = await importer().runOnce(NOW);
    assert.deepEqual(
      statuses.map((s) => [s.provider, s.ok, s.skipped.length]),
      [
        ['openai', true, 6],
        ['anthropic', true, 2],
      ],
    );
    const { body } = await table('from=2026-12-06&to=2026-12-07');
    const evil = body.rows.find((r) => r.line_items.some((l) => l.includes('evil')));
    assert.ok(evil);
    assert.equal(evil.line_items[0]?.length, 256);
    assert.ok(!evil.line_items[0]?.includes('\u0000') && !evil.line_items[0]?.includes('\u202e'));
    assert.equal(evil.provider_cost_usd, '0.250000000');
    assert.equal(row(body.rows, '2026-12-06', 'openai', 'gpt-4o-mini')?.provider_cost_usd, '1.500000000');
    assert.equal(
      row(body.rows, '2026-12-06', 'anthropic', 'claude-sonnet-4', 'Credit')?.provider_cost_usd,
      '-1.000000000',
    );
  });

  test('401, 429 with Retry-After, 500 and a looping cursor end in a status; the other provider still imports', async () => {
    resetFakes();
    billDays();
    // A wrong admin key: 401 at once, no retry; the key is not in the error.
    const wrong = await importer({ openai: { admin_key: 'sk-admin-wrong-key-123', api_base: fakes.origin } }).runOnce(
      NOW,
    );
    assert.equal(wrong[0]?.ok, false);
    assert.match(wrong[0]?.error ?? '', /HTTP 401: Incorrect API key provided/);
    assert.doesNotMatch(JSON.stringify(wrong), /sk-admin-wrong/);
    assert.equal(wrong[1]?.ok, true);
    assert.deepEqual(sleeps, []);

    // 429 asking for 7 s: waited (as asked), then the import completes.
    resetFakes();
    billDays();
    fakes.openai.failures.push({ status: 429, retryAfter: '7' });
    const limited = await importer().runOnce(NOW);
    assert.equal(limited[0]?.ok, true);
    assert.deepEqual(sleeps, [7000]);

    // 429 asking for an hour: this run gives up (the next one tries again).
    resetFakes();
    billDays();
    fakes.anthropic.failures.push({ status: 429, retryAfter: '3600' });
    const later = await importer().runOnce(NOW);
    assert.deepEqual(
      later.map((s) => s.ok),
      [true, false],
    );
    assert.match(later[1]?.error ?? '', /HTTP 429/);

    // 500 every time: backed off and retried, then a failed status.
    resetFakes();
    billDays();
    for (let i = 0; i < 4; i++) fakes.openai.failures.push({ status: 500, body: '<html>oops</html>' });
    const down = await importer().runOnce(NOW);
    assert.equal(down[0]?.ok, false);
    assert.match(down[0]?.error ?? '', /HTTP 500/);
    assert.deepEqual(sleeps, [1000, 2000, 4000]);
    assert.equal(fakes.openai.requests.length, 4);
    assert.equal(down[1]?.ok, true);

    // A cursor that repeats would loop forever: refused on the second page.
    resetFakes();
    billDays();
    fakes.openai.pageSize = 1;
    fakes.openai.cursorOverride = 'page_same';
    const looping = await importer().runOnce(NOW);
    assert.equal(looping[0]?.ok, false);
    assert.match(looping[0]?.error ?? '', /repeats/);

    const { body } = await table();
    assert.deepEqual(body.imports.find((i) => i.provider === 'openai')?.ok, false);
  });

  test('GET /spend/reconciliation: admin only, and bad parameters are a 400 naming the field', async () => {
    const key = await t.app.inject({
      method: 'POST',
      url: '/key/generate',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: {},
    });
    const secret = (key.json() as { key: string }).key;
    const forbidden = await t.app.inject({
      url: '/spend/reconciliation',
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(forbidden.statusCode, 403);
    assert.equal((await t.app.inject({ url: '/spend/reconciliation' })).statusCode, 401);
    for (const [query, param] of [
      ['from=yesterday', 'from'],
      ['from=2026-02-30', 'from'],
      ['to=2026-12-01&from=2026-12-05', 'to'],
      ['from=2020-01-01&to=2026-01-01', 'to'],
      ['from=1900-01-01', 'from'],
      ['from=a&from=b', 'from'],
      ['model=gpt', 'model'],
    ] as const) {
      const { status, body } = await table(query);
      assert.equal(status, 400, query);
      assert.equal((body as unknown as { error: { param: string } }).error.param, param, query);
    }
    // Relative windows are widened to whole UTC days.
    const { status, body } = await table('from=-2d&to=now');
    assert.equal(status, 200);
    assert.ok(body.from < body.to);
  });
});

describe('the worker role imports on its own schedule', () => {
  let fakes: FakeCostApis;
  const apps: TestApp[] = [];
  before(async () => {
    fakes = await startFakeCostApis();
    fakes.openai.days.set(new Date(Date.now() - 86_400_000).toISOString().slice(0, 10), [
      { line_item: 'gpt-4o-mini, input', amount: { value: 0.42, currency: 'usd' } },
    ]);
  });
  after(async () => {
    for (const app of apps) await app.close();
    await fakes?.close();
  });

  test('two workers sharing Redis: the first run after boot imports once, and the API shows it', async () => {
    const env = testEnv();
    const config = testConfig(
      { reconciliation: { openai: { admin_key: FAKE_OPENAI_ADMIN_KEY, api_base: fakes.origin }, lookback_days: 2 } },
      env,
    );
    // The same database and Redis prefix: two instances of one deployment.
    apps.push(await startTestApp(config), await startTestApp(config));
    const first = apps[0];
    assert.ok(first);
    const deadline = Date.now() + 30_000;
    let imports: { provider: string; ok: boolean; lines: number }[] = [];
    while (imports.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await first.app.inject({
        url: '/spend/reconciliation?from=-3d',
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      });
      imports = (res.json() as { imports: typeof imports }).imports;
    }
    assert.deepEqual(
      imports.map((i) => [i.provider, i.ok, i.lines]),
      [['openai', true, 1]],
    );
    // One run (one page: two days fit) for both instances: the lock kept the second out.
    assert.equal(fakes.openai.requests.length, 1);
  });
});
