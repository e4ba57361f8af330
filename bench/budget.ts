// Budget benchmark: a $1.00 team budget hammered by 200 concurrent clients spread over TWO app instances
// sharing one ClickHouse database and Redis prefix. Every client calls until it is refused.
//   node --import tsx bench/budget.ts [--clients 200] [--budget 1] [--rounds 3] [--latency-ms 20]
// Scenarios, side by side:
//   http   — real HTTP through the proxy to the fake upstream (src/mock), reservation guard in the path
//   guard  — the registered CallGuards called directly (admit → settle), no HTTP: the ledger's own cost
//   naive  — LiteLLM's pattern for comparison: check the cached total, forward, add the cost afterwards
// Prints a table and writes bench/results/budget.json (overshoot = spend above the budget, utilisation =
// spend / budget), plus how long a key revoked on one instance keeps working on the other.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { buildApp } from '../src/app.js';
import { ledgerKeys } from '../src/budgets/ledger.js';
import type { CallContext } from '../src/callGuards.js';
import { createWarehouse } from '../src/clickhouse/plugin.js';
import { databaseIdent, sql } from '../src/clickhouse/sql.js';
import { loadConfig } from '../src/config/load.js';
import { startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { LIFETIME } from '../src/periods.js';
import { MemorySink } from '../src/spendSink.js';

const MASTER_KEY = 'sk-bench-master-key-0123456789';
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    budget: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'latency-ms': { type: 'string', default: '20' },
    'clickhouse-url': { type: 'string', default: 'http://127.0.0.1:18123' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:16379' },
  },
});
const CLIENTS = Number(values.clients);
const BUDGET_NANO = Math.round(Number(values.budget) * 1e9);
const ROUNDS = Number(values.rounds);
const LATENCY_MS = Number(values['latency-ms']);

interface RoundResult {
  scenario: string;
  round: number;
  admitted: number;
  refused: number;
  spendNano: number;
  overshootNano: number;
  utilisation: number;
  seconds: number;
  admitP50Ms: number | null;
  admitP99Ms: number | null;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function post(app: FastifyInstance, url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${MASTER_KEY}` },
    payload: body as object,
  });
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
  return r.json();
}

async function freshTeamKey(app: FastifyInstance, alias: string) {
  const team = await post(app, '/team/new', { team_alias: alias, max_budget: BUDGET_NANO / 1e9 });
  const key = await post(app, '/key/generate', { team_id: team.team_id });
  return { teamId: String(team.team_id), secret: String(key.key) };
}

async function teamSpend(app: FastifyInstance, teamId: string): Promise<number> {
  return (await app.budgetLedger.read(ledgerKeys.scope(`team:${teamId}`, LIFETIME))).spent;
}

function result(
  scenario: string,
  round: number,
  admitted: number,
  refused: number,
  spendNano: number,
  started: number,
  admitMs: number[],
): RoundResult {
  admitMs.sort((a, b) => a - b);
  return {
    scenario,
    round,
    admitted,
    refused,
    spendNano,
    overshootNano: Math.max(0, spendNano - BUDGET_NANO),
    utilisation: spendNano / BUDGET_NANO,
    seconds: (performance.now() - started) / 1000,
    admitP50Ms: admitMs.length ? percentile(admitMs, 0.5) : null,
    admitP99Ms: admitMs.length ? percentile(admitMs, 0.99) : null,
  };
}

async function httpRound(apps: FastifyInstance[], origins: string[], round: number): Promise<RoundResult> {
  const { teamId, secret } = await freshTeamKey(apps[0]!, `http-${round}`);
  let admitted = 0;
  let refused = 0;
  const started = performance.now();
  const body = JSON.stringify({ model: 'bench-model', max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] });
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      for (;;) {
        const r = await fetch(`${origins[i % 2]}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body,
        });
        const text = await r.text();
        if (r.status === 200) admitted++;
        else if (r.status === 429) return void refused++;
        else throw new Error(`unexpected status ${r.status}: ${text}`);
      }
    }),
  );
  return result('http', round, admitted, refused, await teamSpend(apps[0]!, teamId), started, []);
}

/** Worst case 0.5–1.5 cents, actual 50–100% of it (deterministic per call number). */
function costs(n: number) {
  const maxCostNano = 5_000_000 + ((n * 7919) % 10_000_000);
  return { maxCostNano, costNano: Math.floor(maxCostNano * (0.5 + ((n * 104729) % 500) / 1000)) };
}

async function guardRound(apps: FastifyInstance[], round: number): Promise<RoundResult> {
  const { teamId, secret } = await freshTeamKey(apps[0]!, `guard-${round}`);
  const principals = await Promise.all(
    apps.map((app) =>
      app.authenticate({ headers: { authorization: `Bearer ${secret}` } } as unknown as FastifyRequest),
    ),
  );
  let admitted = 0;
  let refused = 0;
  let n = 0;
  const admitMs: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const app = apps[i % 2]!;
      for (;;) {
        const { maxCostNano, costNano } = costs(n++);
        const ctx: CallContext = {
          requestId: randomUUID(),
          principal: principals[i % 2]!,
          model: 'bench-model',
          provider: 'openai',
          upstreamModel: 'bench-model',
          callType: 'chat',
          customerId: null,
          tags: [],
          promptTokens: 10,
          maxCompletionTokens: 40,
          maxCostNano,
          now: new Date(),
        };
        const t0 = performance.now();
        try {
          const admissions = [];
          for (const guard of app.callGuards.admitters) admissions.push(await guard.admit(ctx));
          admitMs.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, LATENCY_MS));
          for (const a of admissions)
            await a.settle({ costNano, promptTokens: 10, completionTokens: 30, totalTokens: 40, status: 200 });
          admitted++;
        } catch {
          refused++;
          return;
        }
      }
    }),
  );
  return result('guard', round, admitted, refused, await teamSpend(apps[0]!, teamId), started, admitMs);
}

/** Check-then-spend on a shared Redis total, as LiteLLM does: read, compare, call, then add. */
async function naiveRound(apps: FastifyInstance[], round: number): Promise<RoundResult> {
  const key = `bench:naive:${round}:${randomUUID()}`;
  let admitted = 0;
  let refused = 0;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const redis = apps[i % 2]!.redis;
      for (;;) {
        const { costNano } = costs(n++);
        if (Number((await redis.get(key)) ?? 0) >= BUDGET_NANO) return void refused++;
        await new Promise((r) => setTimeout(r, LATENCY_MS));
        await redis.incrby(key, costNano);
        admitted++;
      }
    }),
  );
  const spend = Number((await apps[0]!.redis.get(key)) ?? 0);
  await apps[0]!.redis.del(key);
  return result('naive', round, admitted, refused, spend, started, []);
}

/** One client, one call at a time: what the ledger adds to a call (admit + settle, two Lua scripts). */
async function serialLatency(
  app: FastifyInstance,
  calls: number,
): Promise<{ admit_p50_ms: number; admit_p99_ms: number; settle_p50_ms: number }> {
  const team = await post(app, '/team/new', { team_alias: 'serial', max_budget: 1_000_000, rpm_limit: 1_000_000 });
  const key = await post(app, '/key/generate', { team_id: team.team_id, max_budget: 1_000_000 });
  const principal = await app.authenticate({
    headers: { authorization: `Bearer ${key.key}` },
  } as unknown as FastifyRequest);
  const admits: number[] = [];
  const settles: number[] = [];
  for (let i = 0; i < calls; i++) {
    const ctx: CallContext = {
      requestId: randomUUID(),
      principal,
      model: 'bench-model',
      provider: 'openai',
      upstreamModel: 'bench-model',
      callType: 'chat',
      customerId: null,
      tags: ['env:bench'],
      promptTokens: 10,
      maxCompletionTokens: 40,
      maxCostNano: 10_000_000,
      now: new Date(),
    };
    const t0 = performance.now();
    const admissions = [];
    for (const guard of app.callGuards.admitters) admissions.push(await guard.admit(ctx));
    const t1 = performance.now();
    for (const a of admissions)
      await a.settle({ costNano: 5_000_000, promptTokens: 10, completionTokens: 30, totalTokens: 40, status: 200 });
    admits.push(t1 - t0);
    settles.push(performance.now() - t1);
  }
  admits.sort((a, b) => a - b);
  settles.sort((a, b) => a - b);
  return {
    admit_p50_ms: percentile(admits, 0.5),
    admit_p99_ms: percentile(admits, 0.99),
    settle_p50_ms: percentile(settles, 0.5),
  };
}

/** ms from a /key/delete answered by instance A until instance B refuses the key (B had it cached). */
async function revocationDelays(apps: FastifyInstance[], samples: number): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < samples; i++) {
    const key = await post(apps[0]!, '/key/generate', {});
    const request = { headers: { authorization: `Bearer ${key.key}` } } as unknown as FastifyRequest;
    await apps[1]!.authenticate({ ...request });
    await post(apps[0]!, '/key/delete', { keys: [key.token] });
    const deleted = performance.now();
    for (;;) {
      const accepted = await apps[1]!.authenticate({ ...request }).then(
        () => true,
        () => false,
      );
      if (!accepted) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    delays.push(performance.now() - deleted);
  }
  return delays.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const fake = await startFakeUpstream({ latencyMs: LATENCY_MS, usage: { promptTokens: 20, completionTokens: 30 } });
  const database = `bench_budget_${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    configPath: null,
    env: {
      CLICKHOUSE_URL: values['clickhouse-url'],
      REDIS_URL: values['redis-url'],
      CLICKHOUSE_DATABASE: database,
      MASTER_KEY,
      REDIS_KEY_PREFIX: `${database}:`,
    },
  });
  config.models = [
    {
      model_name: 'bench-model',
      litellm_params: { model: 'openai/bench-model', api_base: `${fake.url}/v1`, api_key: 'sk-upstream' },
      model_info: { input_cost_per_token: 0.0001, output_cost_per_token: 0.0002 },
    },
  ];
  config.file = { ...config.file, model_list: config.models };
  const apps = [
    await buildApp({ config, sink: new MemorySink(), ingestWorker: false, logger: { level: 'error' } }),
    await buildApp({ config, sink: new MemorySink(), ingestWorker: false }),
  ];
  const origins: string[] = [];
  for (const app of apps) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    origins.push(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
  }
  const rounds: RoundResult[] = [];
  let revocationMs: number[] = [];
  let serial: Awaited<ReturnType<typeof serialLatency>> | null = null;
  try {
    revocationMs = await revocationDelays(apps, 10);
    serial = await serialLatency(apps[0]!, 1000);
    for (let round = 1; round <= ROUNDS; round++) {
      rounds.push(await httpRound(apps, origins, round));
      rounds.push(await guardRound(apps, round));
      rounds.push(await naiveRound(apps, round));
    }
  } finally {
    for (const app of apps) await app.close();
    await fake.close();
    const admin = createWarehouse(config.clickhouse, 'default');
    await admin.exec(sql`DROP DATABASE IF EXISTS ${databaseIdent(database)}`);
    await admin.client.close();
  }

  const usd = (nano: number) => (nano / 1e9).toFixed(4);
  console.log(
    `\n${CLIENTS} clients, 2 instances, budget $${usd(BUDGET_NANO)}, upstream latency ${LATENCY_MS} ms, ${cpus().length} CPUs`,
  );
  console.log('scenario  round  admitted  refused  spend $   overshoot $  utilisation  seconds  admit p50/p99 ms');
  for (const r of rounds) {
    const admit = r.admitP50Ms === null ? '-' : `${r.admitP50Ms.toFixed(2)} / ${(r.admitP99Ms ?? 0).toFixed(2)}`;
    console.log(
      `${r.scenario.padEnd(8)}  ${String(r.round).padStart(5)}  ${String(r.admitted).padStart(8)}  ${String(r.refused).padStart(7)}  ${usd(r.spendNano).padStart(7)}  ${usd(r.overshootNano).padStart(11)}  ${(r.utilisation * 100).toFixed(2).padStart(10)}%  ${r.seconds.toFixed(2).padStart(7)}  ${admit}`,
    );
  }
  const revocation = { p50_ms: percentile(revocationMs, 0.5), max_ms: revocationMs.at(-1) ?? 0 };
  console.log(
    `\nrevocation seen by the other instance: p50 ${revocation.p50_ms.toFixed(0)} ms, max ${revocation.max_ms.toFixed(0)} ms (10 keys)`,
  );
  if (serial) {
    console.log(
      `one client, key + team scopes + rpm: admit p50 ${serial.admit_p50_ms.toFixed(3)} ms, p99 ${serial.admit_p99_ms.toFixed(3)} ms; settle p50 ${serial.settle_p50_ms.toFixed(3)} ms (1000 calls)`,
    );
  }
  mkdirSync('bench/results', { recursive: true });
  const out = {
    clients: CLIENTS,
    instances: 2,
    budget_nano: BUDGET_NANO,
    latency_ms: LATENCY_MS,
    rounds,
    revocation,
    serial,
  };
  writeFileSync('bench/results/budget.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log('\nwritten bench/results/budget.json');
}

await main();
