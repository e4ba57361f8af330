// Audited re-pricing (docs/repricing.md) against real ClickHouse and Redis: calls ingested at price A, the
// price book changes, `reprice` writes correction records, and every total — raw spend_logs, each rollup,
// the query API (raw and rollup), the team's budget counter, the archive's re-exported files — moves by the
// same exact nano-USD delta while request counts stay; a second run writes nothing; a dry run writes
// nothing; a run stopped after its first hour, or killed with SIGKILL mid-way, and run again counts every
// correction once.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { z } from 'zod';
import { resolveArchiveSettings } from '../src/archive/settings.js';
import { ledgerKeys } from '../src/budgets/ledger.js';
import { Sql, sql } from '../src/clickhouse/sql.js';
import type { AppConfig } from '../src/config/load.js';
import { LIFETIME } from '../src/periods.js';
import { formatTable, parseRepriceArgs, UsageError } from '../src/reprice/cli.js';
import { currentPricer } from '../src/reprice/plan.js';
import { type RepriceOptions, reprice } from '../src/reprice/run.js';
import { nanoToUsd } from '../src/spendRecord.js';
import { clickhouseTotals, duckTotals } from './archive.fixtures.js';
import { Cli, serveEnv } from './helpers/cliProcess.js';
import { waitForQueueIdle } from './helpers/ingestRecords.js';
import { adminGet, startTestApp, TEST_MASTER_KEY, type TestApp, testConfig, testEnv } from './helpers/testApp.js';

const HOUR_MS = 3_600_000;
/** Six closed hours ending two hours ago: every window is archivable and in the lifetime budget period. */
const BASE_MS = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 8 * HOUR_MS;
const HOURS = 6;
const PER_HOUR = 4;
const CALLS = HOURS * PER_HOUR;

const PRICE_A = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 };
const PRICE_B = { input_cost_per_token: 0.0000015, output_cost_per_token: 0.000002 };
/** Cheaper input, dearer output: every call's B → C delta is negative (budget given back). */
const PRICE_C = { input_cost_per_token: 0.0000008, output_cost_per_token: 0.0000022 };
const PRICE_D = { input_cost_per_token: 0.0000012, output_cost_per_token: 0.0000025 };

const promptOf = (i: number) => 1000 + 7 * i;
const completionOf = (i: number) => 500 + 3 * i;
/** Exact nano-USD of call i at a price (per-token USD × 1e9 is an integer for these prices). */
const costAt = (price: typeof PRICE_A, i: number) =>
  Math.round(price.input_cost_per_token * 1e9) * promptOf(i) +
  Math.round(price.output_cost_per_token * 1e9) * completionOf(i);
const totalAt = (price: typeof PRICE_A) =>
  Array.from({ length: CALLS }, (_, i) => costAt(price, i)).reduce((a, b) => a + b);

function fileConfig(price: typeof PRICE_A, archiveRoot: string): Record<string, unknown> {
  return {
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-upstream' },
        model_info: price,
      },
    ],
    archive: { enabled: true, local_path: archiveRoot, interval: '1h', settle: '0s' },
  };
}

const sumRow = z.object({ cost: z.coerce.number(), requests: z.coerce.number() });
const ROLLUPS = [
  'spend_hourly',
  'spend_daily',
  'spend_hourly_team',
  'spend_key_daily',
  'spend_team_daily',
  'spend_team_tags_daily',
];

describe('reprice', () => {
  let t: TestApp;
  let env: ReturnType<typeof testEnv>;
  let root: string;
  let teamId: string;
  const configWith = (price: typeof PRICE_A): AppConfig => testConfig(fileConfig(price, root), env);

  const deps = (price: typeof PRICE_A) => ({
    warehouse: t.app.warehouse,
    redis: t.app.redis,
    producer: t.app.spendProducer,
    price: currentPricer(configWith(price)),
    chargeBudgets: t.app.budgetCharger,
    warn: () => {},
  });
  const options = (extra: Partial<RepriceOptions> = {}): RepriceOptions => ({
    from: new Date(BASE_MS),
    to: new Date(BASE_MS + HOURS * HOUR_MS),
    models: [],
    teams: [],
    dryRun: false,
    waitMs: 60_000,
    ...extra,
  });

  async function admin(path: string, body: unknown) {
    const res = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: body as Record<string, unknown>,
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as Record<string, unknown>;
  }

  async function raw(where = '') {
    const rows = await t.app.warehouse.rows(
      sql`SELECT toString(sum(cost_nano)) AS cost, countIf(source != 'correction') AS requests FROM spend_logs ${new Sql(where)}`,
      sumRow,
    );
    return rows[0] ?? { cost: 0, requests: 0 };
  }

  async function rollup(table: string) {
    const rows = await t.app.warehouse.rows(
      sql`SELECT toString(sum(cost_nano)) AS cost, toString(sum(requests)) AS requests FROM ${new Sql(table)}`,
      sumRow,
    );
    return rows[0] ?? { cost: 0, requests: 0 };
  }

  async function apiTotals(source: 'raw' | 'rollup') {
    const res = await t.app.inject({
      method: 'POST',
      url: '/spend/query',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
      payload: {
        from: new Date(BASE_MS).toISOString(),
        to: new Date(BASE_MS + HOURS * HOUR_MS).toISOString(),
        granularity: 'none',
        metrics: ['cost', 'requests', 'errors', 'avg_latency_ms'],
        source,
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const { totals } = res.json() as {
      totals: { cost_nano: number | string; requests: number; avg_latency_ms: number };
    };
    return { cost: Number(totals.cost_nano), requests: Number(totals.requests), latency: totals.avg_latency_ms };
  }

  const budgetSpent = async () => (await t.app.budgetLedger.read(ledgerKeys.scope(`team:${teamId}`, LIFETIME))).spent;

  /** Every total at once, after the queue has drained (rollups are written a moment after raw). */
  async function totals() {
    await waitForQueueIdle(t.app.spendProducer.queue);
    return {
      raw: await raw(),
      rollups: await Promise.all(ROLLUPS.map((r) => rollup(r))),
      api: [await apiTotals('raw'), await apiTotals('rollup')],
      budget: await budgetSpent(),
    };
  }

  /** Exports (or re-exports) every changed closed window; the archive's per-window totals must match raw. */
  async function archiveAgrees() {
    await t.app.archive.scheduler.runOnce();
    const expected = await clickhouseTotals(t.app);
    const parquet = await duckTotals(root, 'parquet');
    assert.deepEqual(
      [...parquet].map(([w, v]) => [w, v.rows, v.costNano]),
      [...expected].map(([w, v]) => [w, v.rows, v.costNano]),
    );
    return [...parquet.values()].reduce((s, v) => s + BigInt(v.costNano), 0n);
  }

  function assertAll(got: Awaited<ReturnType<typeof totals>>, expectCost: number, budget: number, label: string): void {
    // Every total also holds the two calls that are not re-priced (provider / caller cost).
    assert.equal(got.raw.cost - OTHER_COST, expectCost, `${label}: raw cost`);
    assert.equal(got.raw.requests, CALLS + 2, `${label}: raw calls`);
    for (const [i, r] of got.rollups.entries()) {
      assert.equal(r.cost - OTHER_COST, expectCost, `${label}: ${ROLLUPS[i]} cost`);
      assert.equal(r.requests, CALLS + 2, `${label}: ${ROLLUPS[i]} requests (corrections are no calls)`);
    }
    for (const a of got.api) {
      assert.equal(a.cost - OTHER_COST, expectCost, `${label}: query API cost`);
      assert.equal(a.requests, CALLS + 2, `${label}: query API requests`);
    }
    assert.equal(got.api[0]?.latency, got.api[1]?.latency, `${label}: mean latency raw = rollup`);
    assert.equal(got.budget, budget, `${label}: team budget counter`);
  }

  /** A caller-priced and a provider-billed call: never re-priced. */
  const OTHER_COST = 1_234_000 + 5_678_000;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reprice-archive-'));
    env = testEnv();
    const config = configWith(PRICE_A);
    t = await startTestApp({ ...config, archive: resolveArchiveSettings(config.file) });
    const team = await admin('/team/new', { team_alias: 'reprice-team', max_budget: 1000 });
    teamId = String(team.team_id);
    // Priced server-side from the config price (no cost given) and charged to the team's budget.
    const records = Array.from({ length: CALLS }, (_, i) => ({
      request_id: `rp-${String(i).padStart(3, '0')}`,
      start_time: new Date(BASE_MS + Math.floor(i / PER_HOUR) * HOUR_MS + (i % PER_HOUR) * 60_000 + i).toISOString(),
      end_time: new Date(
        BASE_MS + Math.floor(i / PER_HOUR) * HOUR_MS + (i % PER_HOUR) * 60_000 + i + 200 + i,
      ).toISOString(),
      model: 'house-gpt',
      provider: 'openai',
      team_id: teamId,
      key_hash: `kh-${i % 2}`,
      tags: i % 3 ? ['env:prod'] : [],
      prompt_tokens: promptOf(i),
      completion_tokens: completionOf(i),
    }));
    const others = [
      { request_id: 'rp-caller', cost_usd: '0.001234', price_source: 'caller' },
      { request_id: 'rp-provider', cost_usd: '0.005678', price_source: 'provider', provider_cost_nano: 5_678_000 },
    ].map((o) => ({
      ...o,
      start_time: new Date(BASE_MS + 30 * 60_000).toISOString(),
      model: 'house-gpt',
      team_id: teamId,
      prompt_tokens: 10,
      completion_tokens: 10,
    }));
    const ingested = await admin('/ingest/v1/records', [...records, ...others]);
    assert.equal(ingested.accepted, CALLS + 2, JSON.stringify(ingested));
    await waitForQueueIdle(t.app.spendProducer.queue);
  });

  after(async () => {
    await t?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the calls start at price A everywhere', async () => {
    assertAll(await totals(), totalAt(PRICE_A), totalAt(PRICE_A) + OTHER_COST, 'before');
    assert.equal(await archiveAgrees(), BigInt(totalAt(PRICE_A) + OTHER_COST));
  });

  test('a dry run prints the per-model delta table and writes nothing', async () => {
    const before = await totals();
    const report = await reprice(deps(PRICE_B), options({ dryRun: true }));
    const [line] = report.table.lines();
    assert.deepEqual(
      [line?.model, line?.calls, line?.corrections, line?.oldNano, line?.newNano],
      ['house-gpt', CALLS, CALLS, BigInt(totalAt(PRICE_A)), BigInt(totalAt(PRICE_B))],
    );
    assert.deepEqual(report.table.skipped, { provider: 1, caller: 1, unpriced: 0 });
    assert.equal(report.written, 0);
    const text = formatTable(report.table);
    assert.match(text, /house-gpt\s+24\s+24\s+0\.\d{9}\s+0\.\d{9}\s+\+0\.\d{9}/);
    const otherModel = await reprice(deps(PRICE_B), options({ dryRun: true, models: ['gpt-4o'] }));
    assert.deepEqual(otherModel.table.lines(), [], '--model narrows the calls');
    const otherTeam = await reprice(deps(PRICE_B), options({ dryRun: true, teams: ['another-team'] }));
    assert.deepEqual(otherTeam.table.lines(), [], '--team narrows the calls');
    const ownTeam = await reprice(deps(PRICE_B), options({ dryRun: true, teams: [teamId], models: ['house-gpt'] }));
    assert.equal(ownTeam.table.lines()[0]?.corrections, CALLS);
    assert.deepEqual(await totals(), before, 'a dry run changes nothing');
    assert.equal(await t.app.redis.hlen('reprice:pending'), 0);
  });

  test('price A → B: one correction per call; every total moves by the same exact delta; run twice = once', async () => {
    const first = await reprice(deps(PRICE_B), options());
    assert.equal(first.written, CALLS);
    const delta = totalAt(PRICE_B) - totalAt(PRICE_A);
    assert.ok(delta > 0);
    assertAll(await totals(), totalAt(PRICE_B), totalAt(PRICE_B) + OTHER_COST, 'after A → B');
    assert.equal(await archiveAgrees(), BigInt(totalAt(PRICE_B) + OTHER_COST), 'archive re-exported');

    // The call's detail lists its correction; the correction's own detail says what it corrects.
    const detail = async (id: string) => {
      const { status, body } = await adminGet(t.app, `/spend/logs/v2/${id}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body as unknown as {
        source: string;
        cost_nano: number;
        corrects_request_id: string | null;
        corrections: { request_id: string; cost_nano: number }[];
        cost_after_corrections_usd: string;
      };
    };
    const call = await detail('rp-000');
    assert.deepEqual(
      call.corrections.map((c) => c.cost_nano),
      [costAt(PRICE_B, 0) - costAt(PRICE_A, 0)],
    );
    assert.equal(call.cost_after_corrections_usd, nanoToUsd(costAt(PRICE_B, 0)));
    const correction = await detail(call.corrections[0]?.request_id ?? '');
    assert.deepEqual(
      [correction.source, correction.corrects_request_id, correction.corrections],
      ['correction', 'rp-000', []],
    );

    const second = await reprice(deps(PRICE_B), options());
    assert.deepEqual([second.written, second.duplicates], [0, 0], 'nothing left to correct');
    assert.equal(second.table.lines()[0]?.corrections, 0);
    assertAll(await totals(), totalAt(PRICE_B), totalAt(PRICE_B) + OTHER_COST, 'after the second run');
    const corrections = await raw(`WHERE source = 'correction'`);
    assert.equal(corrections.cost, delta);
  });

  test('a run that stops after its first hour, then run again, writes the rest once (price B → C)', async () => {
    const stopped = reprice(
      deps(PRICE_C),
      options({
        afterChunk: () => {
          throw new Error('stopped after the first hour');
        },
      }),
    );
    await assert.rejects(stopped, /stopped after the first hour/);
    assert.equal(await t.app.redis.hlen('reprice:pending'), PER_HOUR, 'its queued corrections are pending');
    const rerun = await reprice(deps(PRICE_C), options());
    assert.deepEqual([rerun.written, rerun.duplicates], [CALLS - PER_HOUR, 0], 'the first hour is not written twice');
    assert.ok(totalAt(PRICE_C) < totalAt(PRICE_B), 'B → C gives budget back');
    assertAll(await totals(), totalAt(PRICE_C), totalAt(PRICE_C) + OTHER_COST, 'after the stop and re-run');
  });

  test('a run killed with SIGKILL mid-way, then run again, counts each correction once (price C → D)', async (t2) => {
    const yamlPath = join(root, 'price-d.yaml');
    const { archive: _archive, ...cliFile } = fileConfig(PRICE_D, root);
    await writeFile(yamlPath, stringify(cliFile));
    const from = new Date(BASE_MS).toISOString();
    const to = new Date(BASE_MS + HOURS * HOUR_MS).toISOString();
    const cli = new Cli(
      ['reprice', '--config', yamlPath, '--from', from, '--to', to],
      serveEnv(env, t.config, TEST_MASTER_KEY),
      { detached: true },
    );
    // Its first C → D corrections are in ClickHouse (the rest noted, queued or not made yet): kill the whole
    // process group there, before it has finished.
    const correctionRows = async () => {
      const rows = await t.app.warehouse.rows(
        sql`SELECT count() AS n FROM spend_logs WHERE source = 'correction'`,
        z.object({ n: z.coerce.number() }),
      );
      return rows[0]?.n ?? 0;
    };
    const before = await correctionRows();
    while ((await correctionRows()) === before) {
      assert.equal(cli.proc.exitCode, null, `reprice exited before it wrote anything:\n${cli.output}`);
    }
    assert.equal(cli.proc.exitCode, null, `reprice finished before it was killed:\n${cli.output}`);
    process.kill(-(cli.proc.pid ?? 0), 'SIGKILL');
    await new Promise((r) => cli.proc.once('exit', r));
    assert.equal(cli.proc.signalCode, 'SIGKILL', cli.output);

    // The killed run's lock is no longer renewed: it expires on its own within 10 s.
    while ((await t.app.redis.exists('reprice:lock')) === 1) await new Promise((r) => setTimeout(r, 100));
    const rerun = await reprice(deps(PRICE_D), options());
    t2.diagnostic(`the re-run queued ${rerun.written} correction(s), the killed run ${CALLS - rerun.written}`);
    assertAll(await totals(), totalAt(PRICE_D), totalAt(PRICE_D) + OTHER_COST, 'after the kill and re-run');
    const again = await reprice(deps(PRICE_D), options());
    assert.equal(again.written, 0, 'the next run finds nothing to correct');
    assert.equal(await archiveAgrees(), BigInt(totalAt(PRICE_D) + OTHER_COST), 'archive re-exported');
    const perCall = await t.app.warehouse.rows(
      sql`SELECT corrects_request_id AS id, count() AS n FROM spend_logs WHERE source = 'correction'
          GROUP BY id HAVING n != 3`,
      z.object({ id: z.string(), n: z.coerce.number() }),
    );
    assert.deepEqual(perCall, [], 'every call has exactly one correction per price change: A → B, B → C, C → D');
  });
});

describe('reprice command line', () => {
  test('bad arguments are refused naming the flag', () => {
    const refused = (argv: string[]) => {
      try {
        parseRepriceArgs(argv);
      } catch (err) {
        assert.ok(err instanceof UsageError);
        return err.message;
      }
      assert.fail(`accepted ${argv.join(' ')}`);
    };
    assert.match(refused(['--to', '2026-01-02T00:00:00Z']), /^--from is required/);
    assert.match(refused(['--from', 'yesterday', '--to', '2026-01-02T00:00:00Z']), /^--from: not an ISO-8601 time/);
    assert.match(refused(['--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z']), /^--to must be after/);
    assert.match(refused(['--from', '2026-01-01', '--to', '2026-01-02', '--wait=-1']), /^--wait/);
    assert.match(refused(['--from', '2026-01-01', '--to', '2026-01-02', '--model', '']), /^--model/);
    assert.match(refused(['--from', '2026-01-01', '--to', '2026-01-02', '--bogus']), /bogus/);
    const ok = parseRepriceArgs([
      '--from',
      '2026-01-01',
      '--to',
      '2026-01-02',
      '--model',
      'a',
      '--model',
      'b',
      '--dry-run',
    ]);
    assert.deepEqual([ok.models, ok.dryRun, ok.waitMs], [['a', 'b'], true, 300_000]);
  });
});
