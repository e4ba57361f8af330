// Scaling shape of the ClickHouse cluster mode: the same work on 1 shard and on 2 shards (one replica each,
// so only the shard count differs; both in cluster mode, so both pay the Distributed layer), one after the
// other in one run, each on a fresh local cluster (src/devservices/clusterServices.ts):
//   - app ingest: records/s end to end (producer → BullMQ → worker → Distributed insert, rollup views);
//   - engine insert: rows/s of one server-side INSERT … SELECT into the Distributed spend_logs (views on);
//   - queries: /spend/query answers (a rollup question and a raw scan) — median latency, one at a time, and
//     queries/s with several in flight.
// On one 2-core machine the shards share the same cores: this shows the shape (what the Distributed layer
// costs, whether work spreads), not what two machines would do.
//   npm run bench -- cluster [--records 50000] [--rows 2000000] [--reps 10] [--parallel 4] [--shards 1,2]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { databaseIdent, sql } from '../src/clickhouse/sql.js';
import { startLocalCluster } from '../src/devservices/clusterServices.js';
import { TEST_MASTER_KEY, testConfig, testEnv } from '../test/helpers/testApp.js';
import { throughput } from './ingest.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';

const round = (n: number) => Math.round(n * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const QUESTIONS: Record<string, Record<string, unknown>> = {
  'rollup: team × model, by day': { group_by: ['team', 'model'], granularity: 'day' },
  'raw: team × model': { group_by: ['team', 'model'], source: 'raw' },
};

/** Server-side rows over the last 24 h: 40 teams, 12 models, 300 keys (the omitted columns take defaults). */
async function engineInsert(app: FastifyInstance, rows: number) {
  const started = performance.now();
  await app.warehouse.exec(sql`
    INSERT INTO spend_logs (request_id, start_time, start_time_ms, call_type, status, key_hash, team_id, model,
      provider, prompt_tokens, completion_tokens, total_tokens, cost_nano, cost_status, source, inserted_at)
    SELECT concat('gen-', toString(number)) AS request_id,
      toDateTime(toUInt32(now()) - 86400 + intDiv(number * 86400, ${rows})) AS start_time,
      toUInt64(start_time) * 1000 AS start_time_ms, 'chat', 200,
      concat('key-', toString(cityHash64(number, 1) % 300)), concat('team-', toString(cityHash64(number, 2) % 40)),
      concat('model-', toString(cityHash64(number, 3) % 12)), 'bench', 100, 50, 150, 1000, 'priced', 'proxy',
      toUInt32(now())
    FROM numbers(${rows})`);
  return Math.round(rows / ((performance.now() - started) / 1000));
}

async function ask(app: FastifyInstance, question: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const res = await app.inject({
    method: 'POST',
    url: '/spend/query',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    payload: { from: new Date(Date.now() - 2 * 86400_000).toISOString(), ...question, limit: 10_000 },
  });
  if (res.statusCode !== 200) throw new Error(`/spend/query ${res.statusCode}: ${res.body}`);
  return performance.now() - started;
}

async function queries(app: FastifyInstance, question: Record<string, unknown>, reps: number, parallel: number) {
  await ask(app, question);
  const single: number[] = [];
  for (let i = 0; i < reps; i++) single.push(await ask(app, question));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = 0; i < reps; i++) await ask(app, question);
    }),
  );
  const perS = (parallel * reps) / ((performance.now() - started) / 1000);
  return { median_ms: round(median(single)), queries_per_s: round(perS) };
}

async function onShards(
  shards: number,
  basePort: number,
  opts: { records: number; rows: number; reps: number; parallel: number },
) {
  const dataRoot = mkdtempSync(join(tmpdir(), `spendhouse-bench-${shards}shard-`));
  const cluster = await startLocalCluster(dataRoot, { name: 'bench', shards, replicas: 1, basePort });
  const config = testConfig(
    { ingest: { batch_max_records: 5000, worker_concurrency: 8 } },
    testEnv({ CLICKHOUSE_URL: cluster.nodes[0]?.url ?? '', CLICKHOUSE_CLUSTER: 'bench' }),
  );
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp({ config });
    const load = loadavg()[0] ?? 0;
    const ingest = (await throughput({ app, records: opts.records })).records_per_s;
    const insert = await engineInsert(app, opts.rows);
    const answers: Record<string, Awaited<ReturnType<typeof queries>>> = {};
    for (const [name, q] of Object.entries(QUESTIONS)) answers[name] = await queries(app, q, opts.reps, opts.parallel);
    return {
      shards,
      load_average_at_start: round(load),
      app_ingest_records_per_s: ingest,
      engine_insert_rows_per_s: insert,
      queries: answers,
    };
  } finally {
    await app?.warehouse.exec(
      sql`DROP DATABASE IF EXISTS ${databaseIdent(config.clickhouse.database)} ON CLUSTER bench`,
    );
    await app?.close();
    await cluster.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '50000' },
      rows: { type: 'string', default: '2000000' },
      reps: { type: 'string', default: '10' },
      parallel: { type: 'string', default: '4' },
      shards: { type: 'string', default: '1,2' },
    },
  });
  const opts = {
    records: Number(values.records),
    rows: Number(values.rows),
    reps: Number(values.reps),
    parallel: Number(values.parallel),
  };
  const machine = machineInfo();
  const results = [];
  for (const shards of values.shards.split(',').map(Number)) {
    console.error(`[bench cluster] ${new Date().toISOString()} ${shards} shard(s)`);
    results.push(await onShards(shards, 29500 + 100 * shards, opts));
  }
  const path = writeResult('cluster', { machine, options: opts, results });
  const questions = Object.keys(QUESTIONS);
  console.log(
    formatTable(
      [
        'shards',
        'load avg',
        'app ingest records/s',
        'engine insert rows/s',
        ...questions.flatMap((q) => [`${q} median ms`, `${q} q/s ×${opts.parallel}`]),
      ],
      results.map((r) => [
        r.shards,
        r.load_average_at_start,
        r.app_ingest_records_per_s,
        r.engine_insert_rows_per_s,
        ...questions.flatMap((q) => [r.queries[q]?.median_ms, r.queries[q]?.queries_per_s]),
      ]),
    ),
  );
  console.log(`\n${path}`);
}
