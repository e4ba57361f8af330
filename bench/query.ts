// Query benchmark: the dashboard's fixed questions against Spendhouse (through the HTTP API, in process)
// and against Postgres holding the same calls in LiteLLM's LiteLLM_SpendLogs schema, side by side.
//   npm run bench -- query [--n 10000000] [--reps 7] [--no-pg] [--reload] [--days 30] [--no-load]
//     [--pg-url postgresql://postgres@127.0.0.1:5432/test]
// --days D asks every question over the first D days only; with --no-load it measures a partly loaded dataset
// over its complete first days (checked), at the full dataset's density.
// A loaded dataset is kept (ClickHouse database bench_query_<n>, Postgres table LiteLLM_SpendLogs) and reused by
// the next run with the same N and generator version; --reload drops and loads it again.
// Prints a table (p50/p95 per question and the Postgres/Spendhouse ratio) and writes bench/results/query-<n>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import pg from 'pg';
import { z } from 'zod';
import { buildApp } from '../src/app.js';
import { migrate } from '../src/clickhouse/migrate.js';
import { ensureDatabase } from '../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../src/clickhouse/sql.js';
import { Warehouse } from '../src/clickhouse/warehouse.js';
import type { AppConfig } from '../src/config/load.js';
import { loadConfig } from '../src/config/load.js';
import { createRedis } from '../src/redis/plugin.js';
import {
  DAY_MS,
  GENERATOR_VERSION,
  loadClickHouse,
  loadPostgres,
  POSTGRES_INDEXES,
  POSTGRES_SCHEMA,
  START_MS,
} from './queryData.js';

const MASTER_KEY = 'sk-bench-master-key-0123456789';

interface Question {
  name: string;
  /** Which target applies: rollup-served (p95 ≤ 150 ms at 100M), raw (≤ 2 s at 100M), logs pages (neither). */
  kind: 'rollup' | 'raw' | 'logs';
  spendhouse: { method: 'GET' | 'POST'; url: string; body?: Record<string, unknown> };
  /** LiteLLM-schema SQL; several statements when LiteLLM's endpoint runs several (count + page). */
  postgres: string[] | null;
  /** Why this question cannot reach the ≥ 50× target, printed with the results. */
  ceiling?: string;
}

/** The issue's targets (#6). */
const TARGET = { rollupP95Ms: 150, rawP95Ms: 2000, ratio: 50 };
const LOGS_CEILING =
  'Postgres finds the page itself through its startTime index (a millisecond); its time is the count(*) LiteLLM runs for `total`. Spendhouse counts from rollups and reads one hour of raw calls, so ≥ 50× is out of reach for a page an index serves directly.';
const RAW_CEILING =
  "Both systems scan every call of the window (a p95 needs each call's latency). Spendhouse reads an 8-byte tag-set hash per call (the tag-set index) where Postgres reads request_tags JSONB, so the ratio is that of two scans, not of a rollup against a scan.";

/** The dashboard's questions over the first `days` days of the dataset (30: all of it). */
function questions(days: number): Question[] {
  const FROM = new Date(START_MS).toISOString();
  const TO = new Date(START_MS + days * DAY_MS).toISOString();
  const DAY1 = FROM.slice(0, 10);
  const DAYN = new Date(START_MS + days * DAY_MS - 1).toISOString().slice(0, 10);
  const PG_WINDOW = `"startTime" >= '${FROM.replace('T', ' ').slice(0, 19)}' AND "startTime" < '${TO.replace('T', ' ').slice(0, 19)}'`;
  const q = (body: Record<string, unknown>) => ({
    method: 'POST' as const,
    url: '/spend/query',
    body: { from: FROM, to: TO, ...body },
  });
  const logsUrl = (page: number) => `/spend/logs/v2?start_date=${DAY1}&end_date=${DAYN}&page=${page}&page_size=50`;
  const pgPage = (page: number) => [
    `SELECT count(*) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW}`,
    `SELECT * FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} ORDER BY "startTime" DESC LIMIT 50 OFFSET ${(page - 1) * 50}`,
  ];

  return [
    {
      name: 'total by team',
      kind: 'rollup',
      spendhouse: q({ group_by: ['team'], metrics: ['cost', 'requests'] }),
      postgres: [`SELECT team_id, SUM(spend), COUNT(*) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} GROUP BY team_id`],
    },
    {
      name: 'by model per day',
      kind: 'rollup',
      spendhouse: q({ group_by: ['model'], granularity: 'day', metrics: ['cost', 'requests'] }),
      postgres: [
        `SELECT date_trunc('day', "startTime"), model, SUM(spend), COUNT(*) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} GROUP BY 1, 2`,
      ],
    },
    {
      name: '2-tag combination by team',
      kind: 'rollup',
      spendhouse: q({ group_by: ['team'], tags: { all: ['env:prod', 'feature:onboarding'] }, metrics: ['cost'] }),
      postgres: [
        `SELECT team_id, SUM(spend) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} AND request_tags @> '["env:prod","feature:onboarding"]'::jsonb GROUP BY team_id`,
      ],
    },
    {
      name: 'top 10 tags',
      kind: 'rollup',
      spendhouse: q({ group_by: ['tag'], metrics: ['cost'], order_by: '-cost', limit: 10 }),
      postgres: [
        `SELECT tag, SUM(spend) FROM (SELECT jsonb_array_elements_text(request_tags) AS tag, spend FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW}) t GROUP BY tag ORDER BY 2 DESC LIMIT 10`,
      ],
    },
    {
      name: "one key's daily spend",
      kind: 'rollup',
      spendhouse: q({ filters: { key: { in: ['key-4242'] } }, granularity: 'day', metrics: ['cost', 'requests'] }),
      postgres: [
        `SELECT date_trunc('day', "startTime"), SUM(spend), COUNT(*) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} AND api_key = 'key-4242' GROUP BY 1`,
      ],
    },
    {
      // What the budget watch asks for its forecasts (src/budgetWatch): 28 days of daily spend of 1,000
      // budgeted keys (one question names at most 1,000; more keys, more questions) — every tenth of the
      // dataset's 10,000 keys, so each one named has spend.
      name: 'forecast: daily spend of 1,000 keys, 28 days',
      kind: 'rollup',
      spendhouse: q({
        group_by: ['key'],
        granularity: 'day',
        filters: { key: { in: Array.from({ length: 1000 }, (_, i) => `key-${i * 10}`) } },
        metrics: ['cost'],
        limit: 10_000,
      }),
      postgres: [
        `SELECT api_key, date_trunc('day', "startTime"), SUM(spend) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} GROUP BY 1, 2`,
      ],
    },
    {
      // Anomalies (docs/finops.md): the last week's days of every team, key, model and tag against 28-day baselines.
      name: 'anomalies: last 7 days, all dimensions',
      kind: 'rollup',
      spendhouse: {
        method: 'GET',
        url: `/spend/anomalies?granularity=day&from=${new Date(START_MS + (days - 7) * DAY_MS).toISOString()}&to=${TO}`,
      },
      postgres: null,
    },
    {
      name: 'logs page 1',
      kind: 'logs',
      spendhouse: { method: 'GET', url: logsUrl(1) },
      postgres: pgPage(1),
      ceiling: LOGS_CEILING,
    },
    {
      name: 'logs page 1,000',
      kind: 'logs',
      spendhouse: { method: 'GET', url: logsUrl(1000) },
      postgres: pgPage(1000),
      ceiling: LOGS_CEILING,
    },
    {
      name: 'raw: p95 latency by model (2 tags)',
      kind: 'raw',
      ceiling: RAW_CEILING,
      spendhouse: q({
        group_by: ['model'],
        tags: { all: ['env:prod', 'tier:pro'] },
        metrics: ['cost', 'p95_latency_ms'],
      }),
      postgres: [
        `SELECT model, SUM(spend), percentile_cont(0.95) WITHIN GROUP (ORDER BY request_duration_ms) FROM "LiteLLM_SpendLogs" WHERE ${PG_WINDOW} AND request_tags @> '["env:prod","tier:pro"]'::jsonb GROUP BY model`,
      ],
    },
    {
      name: 'raw: 2-tag combination by team, forced raw',
      kind: 'raw',
      spendhouse: q({ group_by: ['team'], tags: { all: ['env:prod', 'feature:onboarding'] }, source: 'raw' }),
      postgres: null,
    },
  ];
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), runs: samples.length };
}

async function timed(fn: () => Promise<unknown>, reps: number): Promise<number[]> {
  await fn(); // warm-up: caches, JIT, first connection
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}

/** What a bench run found or did about its dataset: reused as loaded earlier, or loaded now (and how long it took). */
interface Dataset {
  reused: boolean;
  load_seconds: number;
}

const elapsed = (started: number) => Math.round((performance.now() - started) / 100) / 10;

/**
 * Keeps one loaded dataset in Postgres (the LiteLLM table in the `test` database) and reuses it while it holds
 * the same N calls from the same generator version; otherwise (or with --reload) drops and reloads it.
 */
async function preparePostgres(client: pg.Client, n: number, chunk: number, reload: boolean): Promise<Dataset> {
  await client.query(
    'CREATE TABLE IF NOT EXISTS spendhouse_bench_dataset (calls bigint, generator int, load_seconds double precision)',
  );
  const meta = await client.query<{ calls: string; generator: number; load_seconds: number }>(
    'SELECT calls, generator, load_seconds FROM spendhouse_bench_dataset',
  );
  const have = meta.rows[0];
  if (!reload && Number(have?.calls) === n && have?.generator === GENERATOR_VERSION) {
    return { reused: true, load_seconds: have.load_seconds };
  }
  console.log(`postgres: loading ${n} calls into LiteLLM_SpendLogs …`);
  const started = performance.now();
  await client.query('DELETE FROM spendhouse_bench_dataset');
  await client.query('DROP TABLE IF EXISTS "LiteLLM_SpendLogs"');
  await client.query(POSTGRES_SCHEMA);
  await client.query('SET synchronous_commit = off');
  for (let from = 0; from < n; from += chunk) {
    await loadPostgres(client, n, from, Math.min(n, from + chunk));
    console.log(`  ${Math.min(n, from + chunk)} / ${n} (${elapsed(started)} s)`);
  }
  for (const index of POSTGRES_INDEXES) await client.query(index);
  await client.query('VACUUM ANALYZE "LiteLLM_SpendLogs"');
  const seconds = elapsed(started);
  await client.query('INSERT INTO spendhouse_bench_dataset VALUES ($1, $2, $3)', [n, GENERATOR_VERSION, seconds]);
  console.log(`postgres: loaded in ${seconds} s`);
  return { reused: false, load_seconds: seconds };
}

const datasetRow = z.object({ generator: z.coerce.number(), done: z.coerce.number(), seconds: z.coerce.number() });

/**
 * The ClickHouse dataset lives in its own database, bench_query_<n>, with a bench_dataset table recording the
 * generator version it was loaded with ('loading' then 'done' rows). Reused when done with this version;
 * an interrupted load of this version resumes at its last whole chunk; anything else (or --reload) is
 * dropped and loaded again. Migrations run before loading, so materialized views fill every rollup as the
 * calls arrive; on a reused dataset a new migration backfills its rollup from the loaded calls.
 */
async function prepareClickHouse(
  config: AppConfig,
  n: number,
  chunk: number,
  reload: boolean,
  load: boolean,
): Promise<Dataset> {
  const { url, database } = config.clickhouse;
  await ensureDatabase(config.clickhouse);
  const client = createClient({ url, database, request_timeout: 7_200_000 });
  const warehouse = new Warehouse(client, database, null);
  try {
    const exists = await warehouse.rows(
      sql`SELECT count() AS c FROM system.tables WHERE database = ${database} AND name = 'bench_dataset'`,
      z.object({ c: z.coerce.number() }),
    );
    const meta = exists[0]?.c
      ? await warehouse.rows(
          sql`SELECT max(generator) AS generator, max(done) AS done, max(seconds) AS seconds FROM bench_dataset`,
          datasetRow,
        )
      : [];
    const current = meta[0]?.generator === GENERATOR_VERSION;
    if (reload || (exists[0]?.c && !current)) {
      console.log(`clickhouse: dropping ${database} (${reload ? '--reload' : 'older generator version'})`);
      await warehouse.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(database)}`);
      await ensureDatabase(config.clickhouse);
    }
    const redis = createRedis(config.redis);
    try {
      await migrate(warehouse, redis);
    } finally {
      redis.disconnect();
    }
    if (!load || (!reload && current && meta[0]?.done)) return { reused: true, load_seconds: meta[0]?.seconds ?? 0 };
    await warehouse.exec(
      sql`CREATE TABLE IF NOT EXISTS bench_dataset (generator UInt32, done UInt8, seconds Float64) ENGINE = TinyLog`,
    );
    await warehouse.exec(sql`INSERT INTO bench_dataset VALUES (${GENERATOR_VERSION}, 0, 0)`);
    const count = await warehouse.rows(sql`SELECT count() AS c FROM spend_logs`, z.object({ c: z.coerce.number() }));
    const have = count[0]?.c ?? 0;
    // Each chunk is one INSERT … SELECT: a load stopped mid-chunk leaves a partial chunk nothing can resume.
    if (have % chunk !== 0 || have > n) throw new Error(`${database}.spend_logs holds ${have} calls: use --reload`);
    console.log(`clickhouse: loading ${n - have} calls into ${database} …`);
    const started = performance.now();
    for (let from = have; from < n; from += chunk) {
      await loadClickHouse(client, n, from, Math.min(n, from + chunk));
      console.log(`  ${Math.min(n, from + chunk)} / ${n} (${elapsed(started)} s)`);
    }
    const seconds = elapsed(started);
    await warehouse.exec(sql`INSERT INTO bench_dataset VALUES (${GENERATOR_VERSION}, 1, ${seconds})`);
    console.log(`clickhouse: loaded in ${seconds} s`);
    return { reused: false, load_seconds: seconds };
  } finally {
    await client.close();
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '10000000' },
      reps: { type: 'string', default: '7' },
      'pg-reps': { type: 'string', default: '5' },
      'no-pg': { type: 'boolean', default: false },
      'pg-url': { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/test' },
      'clickhouse-url': { type: 'string', default: 'http://127.0.0.1:18123' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:16379' },
      chunk: { type: 'string', default: '5000000' },
      reload: { type: 'boolean', default: false },
      days: { type: 'string', default: '30' },
      'no-load': { type: 'boolean', default: false },
    },
  });
  const n = Number(values.n);
  const reps = Number(values.reps);
  const chunk = Number(values.chunk);
  const database = `bench_query_${n}`;
  const config = loadConfig({
    configPath: null,
    env: {
      // The app's queries are logged so the bench can report ClickHouse's CPU per question (cpuAccounting).
      CLICKHOUSE_URL: `${values['clickhouse-url']}/?ch_log_queries=1&ch_http_headers_progress_interval_ms=${BENCH_MARK}`,
      REDIS_URL: values['redis-url'],
      CLICKHOUSE_DATABASE: database,
      MASTER_KEY,
      // Only the HTTP side: a worker would archive the dataset (Parquet export of every hour) and apply
      // retention to it in the background of the measurements.
      SPENDHOUSE_ROLE: 'proxy',
    },
  });
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 30) throw new Error('--days: a whole number of days, 1 to 30');
  const clickhouse = await prepareClickHouse(config, n, chunk, values.reload, !values['no-load']);
  const app = await buildApp({ config });
  const pgClient = values['no-pg'] ? null : new pg.Client({ connectionString: values['pg-url'] });
  let postgresDataset: Dataset | null = null;
  try {
    if (pgClient) {
      await pgClient.connect();
      postgresDataset = await preparePostgres(pgClient, n, chunk, values.reload);
      // Generous to Postgres: LiteLLM's default work_mem is 4MB; aggregates here get 64MB.
      await pgClient.query(`SET work_mem = '64MB'`);
      await checkSameData(app, pgClient);
    }
    const results: Result[] = [];
    const loadBefore = loadavg();
    await checkWindowComplete(app, n, days);
    for (const question of questions(days)) {
      let source = '';
      const cpu = await cpuAccounting(app.warehouse);
      const spendhouse = await timed(async () => {
        const res = await app.inject({
          method: question.spendhouse.method,
          url: question.spendhouse.url,
          headers: { authorization: `Bearer ${MASTER_KEY}` },
          ...(question.spendhouse.body ? { payload: question.spendhouse.body } : {}),
        });
        if (res.statusCode !== 200) throw new Error(`${question.name}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        const body = res.json() as { source_table?: string; read_plan?: string; tag_sets_matched?: number | null };
        const tagSets = typeof body.tag_sets_matched === 'number' ? ` (${body.tag_sets_matched} tag sets)` : '';
        source = `${body.source_table ?? body.read_plan ?? ''}${tagSets}`;
      }, reps);
      const used = await cpu.perAnswer(reps + 1);
      const postgres =
        pgClient && question.postgres
          ? await timed(async () => {
              for (const statement of question.postgres ?? []) await pgClient.query(statement);
            }, Number(values['pg-reps']))
          : null;
      const row = resultRow(question, source, stats(spendhouse), used, postgres ? stats(postgres) : null);
      results.push(row);
      console.log(
        `${question.name.padEnd(44)} ${source.padEnd(30)} p50 ${row.spendhouse_ms.p50.toFixed(1).padStart(8)} ms  p95 ${row.spendhouse_ms.p95.toFixed(1).padStart(8)} ms  cpu ${used.node_ms.toFixed(0)}+${used.clickhouse_ms?.toFixed(0) ?? '?'} ms` +
          (row.postgres_ms
            ? `  | postgres p50 ${row.postgres_ms.p50.toFixed(0).padStart(7)} ms  p95 ${row.postgres_ms.p95.toFixed(0).padStart(7)} ms  ×${(row.ratio_p50 ?? 0).toFixed(0)}`
            : ''),
      );
    }
    const loadAfter = loadavg();
    const report = {
      suite: 'query',
      calls: n,
      window_days: days,
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30) },
      note: 'Shared 2-core machine (other helpers running): numbers are noisy. Spendhouse is timed through app.inject (HTTP handler, JSON); Postgres as raw SQL over a local socket (no LiteLLM/Python overhead).',
      datasets: { clickhouse, postgres: postgresDataset },
      load_average: { before: loadBefore, after: loadAfter },
      targets: TARGET,
      reps: { spendhouse: reps, postgres: Number(values['pg-reps']) },
      results,
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const file = new URL(`./results/query-${n}.json`, import.meta.url);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten ${file.pathname}`);
    printTable(results, n, days, loadBefore, loadAfter);
  } finally {
    await app.close();
    await pgClient?.end();
  }
}

/**
 * The window must hold every call the generator puts in it (call i starts at START + i × 30 days / n, so the
 * first `days` days hold the first ⌈days × n / 30⌉ calls): a partly loaded dataset (--no-load) can still be
 * measured over its complete first days, at the full dataset's density.
 */
async function checkWindowComplete(app: Awaited<ReturnType<typeof buildApp>>, n: number, days: number) {
  const expected = Math.ceil((days * n) / 30);
  const rows = await app.warehouse.rows(
    sql`SELECT count() AS c FROM spend_logs WHERE start_time_ms >= ${START_MS} AND start_time_ms < ${START_MS + days * DAY_MS}`,
    z.object({ c: z.coerce.number() }),
  );
  const have = rows[0]?.c ?? 0;
  if (have !== expected) {
    throw new Error(
      `the first ${days} days hold ${have} calls, not ${expected}: load them with \`npm run bench -- query --n ${n} --no-pg\``,
    );
  }
  if (days < 30) console.log(`window: the first ${days} days (${have} calls at the density of ${n} over 30 days)`);
}

/** Both systems must hold the same calls: equal counts, and totals equal up to Postgres's float rounding. */
async function checkSameData(app: Awaited<ReturnType<typeof buildApp>>, client: pg.Client): Promise<void> {
  const ch = await app.warehouse.rows(
    sql`SELECT count() AS c, sum(cost_nano) AS s FROM spend_logs`,
    z.object({ c: z.coerce.number(), s: z.coerce.number() }),
  );
  const pgRows = await client.query<{ c: string; s: number }>(
    'SELECT count(*) AS c, SUM(spend) AS s FROM "LiteLLM_SpendLogs"',
  );
  const a = ch[0];
  const b = pgRows.rows[0];
  const usd = (a?.s ?? 0) / 1e9;
  console.log(
    `same data: clickhouse ${a?.c} calls $${usd.toFixed(2)} · postgres ${b?.c} calls $${Number(b?.s).toFixed(2)}`,
  );
  if (Number(b?.c) !== a?.c || Math.abs(Number(b?.s) - usd) > 1e-6 * usd)
    throw new Error('the two systems hold different data');
}

function printTable(results: Result[], n: number, days: number, before: number[], after: number[]) {
  const ms = (v: number | undefined) => (v === undefined ? '—' : v < 100 ? v.toFixed(1) : v.toFixed(0));
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(' ');
  const window = days === 30 ? '' : `, questions over the first ${days} days`;
  console.log(
    `\n${n.toLocaleString('en-US')} calls${window}; load average ${load(before)} before, ${load(after)} after`,
  );
  console.log(
    '\n| question | source | Spendhouse p50 ms | p95 ms | CPU ms (node + ClickHouse) | Postgres p50 ms | p95 ms | ratio (p50) | targets |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    const cpu = `${ms(r.cpu_ms.node_ms)} + ${ms(r.cpu_ms.clickhouse_ms ?? undefined)}`;
    console.log(
      `| ${r.question} | ${r.spendhouse_source} | ${ms(r.spendhouse_ms.p50)} | ${ms(r.spendhouse_ms.p95)} | ${cpu} | ${ms(r.postgres_ms?.p50)} | ${ms(r.postgres_ms?.p95)} | ${r.ratio_p50 === null ? '—' : `${r.ratio_p50.toFixed(0)}×`} | ${r.targets.join('; ')} |`,
    );
  }
  const ceilings = new Set(results.flatMap((r) => (r.ceiling ? [r.ceiling] : [])));
  for (const ceiling of ceilings) {
    const which = results.filter((r) => r.ceiling === ceiling).map((r) => r.question);
    console.log(`\n${which.join(', ')}: ${ceiling}`);
  }
}

interface Stats {
  p50: number;
  p95: number;
  runs: number;
}
interface Cpu {
  /** This process's CPU per answer (HTTP handler, planning, JSON). */
  node_ms: number;
  /** ClickHouse's CPU per answer (user + system, from system.query_log); null when query logging is off. */
  clickhouse_ms: number | null;
  clickhouse_read_rows: number | null;
}
type Result = ReturnType<typeof resultRow>;

/** The row of one question, with which of the issue's targets it meets (p95 targets are stated for 100M). */
function resultRow(question: Question, source: string, sh: Stats, cpu: Cpu, postgres: Stats | null) {
  const ratio = postgres ? postgres.p50 / sh.p50 : null;
  const targets: string[] = [];
  if (question.kind === 'rollup')
    targets.push(`p95 ≤ ${TARGET.rollupP95Ms} ms ${sh.p95 <= TARGET.rollupP95Ms ? 'met' : 'missed'}`);
  if (question.kind === 'raw')
    targets.push(`p95 ≤ ${TARGET.rawP95Ms} ms ${sh.p95 <= TARGET.rawP95Ms ? 'met' : 'missed'}`);
  if (ratio !== null)
    targets.push(
      `≥ ${TARGET.ratio}× ${ratio >= TARGET.ratio ? 'met' : question.ceiling ? 'missed (see note)' : 'missed'}`,
    );
  return {
    question: question.name,
    kind: question.kind,
    spendhouse_source: source,
    spendhouse_ms: sh,
    cpu_ms: cpu,
    postgres_ms: postgres,
    ratio_p50: ratio,
    targets,
    ceiling: question.ceiling ?? null,
  };
}

/**
 * Marks this bench's queries in system.query_log (other processes may log theirs too): an otherwise unused
 * value of a setting that only matters when progress headers are on, which the app's client never asks for.
 */
const BENCH_MARK = 100_003;

const cpuRow = z.object({ queries: z.coerce.number(), cpu_us: z.coerce.number(), read_rows: z.coerce.number() });

/**
 * CPU spent on one question, so results can be compared across runs on a shared machine where wall times
 * mostly measure the queue for a core: this process's CPU, and ClickHouse's from system.query_log (the
 * app's client logs its queries: `ch_log_queries=1` on its URL, marked with BENCH_MARK). Queries are
 * attributed by start time, so questions are a second apart; two bench runs at once would share them.
 */
async function cpuAccounting(warehouse: Warehouse) {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const since = new Date(Math.floor(Date.now() / 1000) * 1000);
  const start = process.cpuUsage();
  return {
    async perAnswer(answers: number): Promise<Cpu> {
      const used = process.cpuUsage(start);
      await warehouse.exec(sql`SYSTEM FLUSH LOGS`);
      const rows = await warehouse.rows(
        sql`SELECT count() AS queries,
            sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]
              + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) AS cpu_us,
            sum(read_rows) AS read_rows
          FROM system.query_log
          WHERE type = 2 AND query_start_time >= ${since} AND query NOT LIKE '%system.query_log%'
            AND Settings.Values[indexOf(Settings.Names, 'http_headers_progress_interval_ms')] = ${String(BENCH_MARK)}`,
        cpuRow,
      );
      const found = rows[0];
      const logged = found !== undefined && found.queries > 0;
      return {
        node_ms: (used.user + used.system) / 1000 / answers,
        clickhouse_ms: logged ? found.cpu_us / 1000 / answers : null,
        clickhouse_read_rows: logged ? Math.round(found.read_rows / answers) : null,
      };
    },
  };
}
