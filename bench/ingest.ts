// Ingest benchmark: end-to-end records/s (producer → BullMQ → worker → ClickHouse, rollup views attached)
// and visibility lag p50/p95 at a fixed rate, plus rollup row counts against raw. Runs on its own database
// and Redis prefix (dropped at the end). Prints a table and writes bench/results/ingest.json.
//   npm run bench -- ingest [--records 200000] [--rate 1000] [--seconds 15] [--batch 5000] [--concurrency 64]
//                           [--realistic-rows 600000] [--realistic-hours 6]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../src/app.js';
import { ident, sql } from '../src/clickhouse/sql.js';
import { Warehouse } from '../src/clickhouse/warehouse.js';
import type { AppConfig } from '../src/config/load.js';
import { toSpendLogRow } from '../src/ingest/rows.js';
import { spendRecord, waitForQueueIdle, waitForRows } from '../test/helpers/ingestRecords.js';
import { dropTestState, testConfig } from '../test/helpers/testApp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface BenchContext {
  app: FastifyInstance;
  records: number;
  rate: number;
  seconds: number;
}

/** Records/s end to end: `records` submitted as fast as possible until all are in spend_logs, exactly once. */
export async function throughput({ app, records }: Pick<BenchContext, 'app' | 'records'>) {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < records; i++) {
    app.spendSink.submit(spendRecord('tp', i));
    // Yield now and then so the batches already sealed reach Redis while we generate.
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
  await app.spendSink.flush();
  const totals = await waitForRows(app.warehouse, records, 'tp-', 600_000);
  await waitForQueueIdle(app.spendProducer.queue, 600_000);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (totals.n !== records || totals.distinct_ids !== records) throw new Error(`landed ${JSON.stringify(totals)}`);
  return {
    records,
    seconds: round(seconds),
    records_per_s: Math.round(records / seconds),
    // This process (record generation, producer, BullMQ, worker): comparable across runs on a busy machine.
    node_cpu_us_per_record: round((cpu.user + cpu.system) / records),
  };
}

const idRow = z.object({ request_id: z.string() });

/** Submits `rate` records/s for `seconds` and measures when each becomes visible in spend_logs. */
async function lagAtRate({ app, rate, seconds }: BenchContext) {
  const warehouse = app.warehouse;
  const submittedAt = new Map<string, number>();
  const lags: number[] = [];
  let done = false;
  const poller = (async () => {
    while (!done || submittedAt.size > 0) {
      const oldest = Math.min(...submittedAt.values(), Date.now());
      const rows = await warehouse.rows(
        sql`SELECT request_id FROM spend_logs WHERE start_time >= ${new Date(oldest - 2000)}
            AND substring(request_id, 1, 4) = 'lag-'`,
        idRow,
      );
      const now = Date.now();
      for (const { request_id } of rows) {
        const at = submittedAt.get(request_id);
        if (at === undefined) continue;
        lags.push(now - at);
        submittedAt.delete(request_id);
      }
      await sleep(20);
    }
  })();
  const tickMs = 10;
  const perTick = (rate * tickMs) / 1000;
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      const record = spendRecord('lag', sent, { start_time: new Date().toISOString() });
      submittedAt.set(record.request_id, Date.now());
      app.spendSink.submit(record);
    }
    await sleep(tickMs);
  }
  done = true;
  await poller;
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? 0;
  return {
    rate_per_s: rate,
    seconds: seconds,
    records: lags.length,
    per_tick: perTick,
    p50_ms: pct(50),
    p95_ms: pct(95),
    max_ms: pct(100),
  };
}

/**
 * What this ClickHouse takes right now from one client with no pipeline at all: 50k-row JSONEachRow inserts
 * into a copy of spend_logs without views, then into spend_logs with its two rollup views. The pipeline's
 * records/s is read against these (the machine may be shared).
 */
async function clickhouseBaseline(warehouse: Warehouse) {
  const rows = Array.from({ length: 50_000 }, (_, i) => toSpendLogRow(spendRecord('base', i), 0));
  await warehouse.exec(sql`CREATE TABLE IF NOT EXISTS bench_plain AS spend_logs`);
  const rate = async (table: 'bench_plain' | 'spend_logs') => {
    const started = performance.now();
    for (let k = 0; k < 2; k++) await warehouse.insert(table, rows);
    return Math.round(100_000 / ((performance.now() - started) / 1000));
  };
  const result = {
    plain_rows_per_s: await rate('bench_plain'),
    with_rollup_views_rows_per_s: await rate('spend_logs'),
  };
  await warehouse.exec(sql`DROP TABLE bench_plain`);
  await warehouse.exec(sql`TRUNCATE TABLE spend_logs`);
  await warehouse.exec(sql`TRUNCATE TABLE spend_hourly`);
  await warehouse.exec(sql`TRUNCATE TABLE spend_daily`);
  return result;
}

async function rollupRows(warehouse: Warehouse) {
  const tables = ['spend_logs', 'spend_hourly', 'spend_hourly_team', 'spend_daily'] as const;
  const count = async (table: (typeof tables)[number]) => {
    // Summing rollups hold one row per key only after merges; count what a fully merged table keeps.
    await warehouse.exec(sql`OPTIMIZE TABLE ${ident(table, tables)} FINAL`);
    const rows = await warehouse.rows(
      sql`SELECT count() AS n FROM ${ident(table, tables)}`,
      z.object({ n: z.coerce.number() }),
    );
    return rows[0]?.n ?? 0;
  };
  return {
    spend_logs: await count('spend_logs'),
    spend_hourly: await count('spend_hourly'),
    spend_hourly_team: await count('spend_hourly_team'),
    spend_daily: await count('spend_daily'),
  };
}

/**
 * Rollup size on traffic shaped like a real gateway: `rows` calls over `hours` through 300 keys (each owned
 * by one user and one of 40 teams, as keys are), 500 customers (a third of calls), 12 models on 3
 * providers, 10 tag sets, 3% errors — generated server-side into a separate database's spend_logs so the
 * materialized views fill the rollups.
 */
export async function realisticRollupRows(warehouse: Warehouse, rows: number, hours: number) {
  await warehouse.exec(sql`
    INSERT INTO spend_logs (request_id, start_time, start_time_ms, end_time_ms, duration_ms, call_type, status,
      key_hash, user_id, team_id, customer_id, model, upstream_model, provider, prompt_tokens, completion_tokens,
      total_tokens, cost_nano, cost_status, tags, source, inserted_at)
    SELECT concat('real-', toString(number)) AS request_id,
      toDateTime(toUInt32(now()) - ${hours * 3600} + intDiv(number * ${hours * 3600}, ${rows})) AS start_time,
      toUInt64(start_time) * 1000 AS start_time_ms, start_time_ms + 800 AS end_time_ms, 800 AS duration_ms,
      'chat' AS call_type, if(cityHash64(number, 1) % 100 < 3, 429, 200) AS status,
      concat('key-', toString(cityHash64(number, 2) % 300)) AS key_hash,
      concat('user-', toString(cityHash64(number, 2) % 300 * 7 % 2000)) AS user_id,
      concat('team-', toString(cityHash64(number, 2) % 300 % 40)) AS team_id,
      if(number % 3 = 0, concat('cust-', toString(cityHash64(number, 5) % 500)), '') AS customer_id,
      concat('model-', toString(cityHash64(number, 6) % 12)) AS model, model AS upstream_model,
      concat('provider-', toString(cityHash64(number, 6) % 3)) AS provider,
      100 AS prompt_tokens, 50 AS completion_tokens, 150 AS total_tokens, 1000 AS cost_nano, 'priced' AS cost_status,
      arraySlice(['batch', 'chat', 'exp', 'prod', 'search'], 1 + cityHash64(number, 7) % 5, cityHash64(number, 8) % 3) AS tags,
      'proxy' AS source, toUInt32(now()) AS inserted_at
    FROM numbers(${rows})`);
  return rollupRows(warehouse);
}

/** Server-side generation and OPTIMIZE FINAL take minutes on a busy machine: a client that waits. */
function patientWarehouse(config: AppConfig): Warehouse {
  const { url, database } = config.clickhouse;
  const client = createClient({
    url,
    database,
    request_timeout: 1_800_000,
    // Progress headers keep the long HTTP response alive (and the client's warning quiet).
    clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '10000' },
  });
  return new Warehouse(client, database, null);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '200000' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '15' },
      batch: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '64' },
      'realistic-rows': { type: 'string', default: '600000' },
      'realistic-hours': { type: 'string', default: '6' },
    },
  });
  const RECORDS = Number(values.records);
  const RATE = Number(values.rate);
  const SECONDS = Number(values.seconds);

  const config = testConfig({
    ingest: { batch_max_records: Number(values.batch), worker_concurrency: Number(values.concurrency) },
  });
  const app = await buildApp({ config });
  const realisticRows = Number(values['realistic-rows']);
  const realisticHours = Number(values['realistic-hours']);
  const realisticConfig = testConfig();
  const realisticApp = await buildApp({ config: realisticConfig, ingestWorker: false });
  const patient = patientWarehouse(config);
  const realisticPatient = patientWarehouse(realisticConfig);
  const step = (name: string) => console.error(`[bench ingest] ${new Date().toISOString()} ${name}`);
  const ctx: BenchContext = { app, records: RECORDS, rate: RATE, seconds: SECONDS };
  try {
    step('ClickHouse baseline');
    const baseline = await clickhouseBaseline(app.warehouse);
    step('throughput');
    const tp = await throughput(ctx);
    step('lag at a fixed rate');
    const lag = await lagAtRate(ctx);
    step('rollup rows');
    const rows = await rollupRows(patient);
    step('realistic rollup rows');
    const realistic = await realisticRollupRows(realisticPatient, realisticRows, realisticHours);
    const result = {
      bench: 'ingest',
      batch_max_records: Number(values.batch),
      worker_concurrency: Number(values.concurrency),
      load_average: loadavg().map((l) => round(l)),
      clickhouse_baseline: baseline,
      throughput: tp,
      lag,
      rows,
      realistic_rows: realistic,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/ingest.json', `${JSON.stringify(result, null, 2)}\n`);
    console.table({
      'ClickHouse alone (no views / views)': {
        value: `${baseline.plain_rows_per_s} / ${baseline.with_rollup_views_rows_per_s} rows/s`,
        detail: `load average ${result.load_average.join(' ')}`,
      },
      'end-to-end throughput': {
        value: `${tp.records_per_s} records/s`,
        detail: `${tp.records} records in ${tp.seconds} s, Node CPU ${tp.node_cpu_us_per_record} µs/record`,
      },
      [`lag p50 at ${RATE}/s`]: { value: `${lag.p50_ms} ms`, detail: `${lag.records} records over ${SECONDS} s` },
      [`lag p95 at ${RATE}/s`]: { value: `${lag.p95_ms} ms`, detail: `max ${lag.max_ms} ms` },
      'rows raw / hourly / hourly_team / daily': {
        value: `${rows.spend_logs} / ${rows.spend_hourly} / ${rows.spend_hourly_team} / ${rows.spend_daily}`,
        detail: 'bench records, after OPTIMIZE FINAL',
      },
      'realistic rows raw / hourly / hourly_team / daily': {
        value: `${realistic.spend_logs} / ${realistic.spend_hourly} / ${realistic.spend_hourly_team} / ${realistic.spend_daily}`,
        detail: `${realisticHours} h, 300 keys/users, 40 teams, 500 customers, 12 models`,
      },
    });
  } finally {
    await app.close();
    await realisticApp.close();
    await patient.client.close();
    await realisticPatient.client.close();
    await dropTestState(config);
    await dropTestState(realisticConfig);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run(process.argv.slice(2));
