// The Redis slot limit, measured (docs/scaling.md, "Redis"): a call's budget counters must sit in one slot
// (one atomic script), and on a Redis Cluster the app puts all its keys in one slot (`{<key_prefix>}`), so
// one primary's core runs every budgeted call's scripts. This runs admit → settle (the proxy's two Lua calls
// per call, through the registered call guards: a virtual key with key, user and team budgets) from many
// concurrent clients and reads each Redis primary's CPU time for the scripts (INFO commandstats):
//   server  — one private redis-server;
//   cluster — a 3-primary Redis Cluster, one deployment: every call's keys in one slot on one primary;
//   spread  — the same cluster, three deployments (key prefixes whose slots are on three different
//             primaries), clients split between them: what spreading budget keys over slots buys.
// The ceiling is calls / (busiest primary's script CPU seconds): the rate at which that core would be full.
//   node --import tsx test/cluster/admitThroughput.ts [seconds=5] [clients=64] [server|cluster|spread]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Principal } from '../../src/auth/principal.js';
import { spawnManaged, waitFor } from '../../src/devservices/process.js';
import { pingRedis } from '../../src/devservices/redisServer.js';
import { startRedisCluster } from '../../src/devservices/redisTopologies.js';
import { curlPost, principalFor, simulateCall } from '../budgetCalls.js';
import { startTestApp, type TestApp, testConfig, testEnv } from '../helpers/testApp.js';

const seconds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 64);
const mode = process.argv[4] ?? 'server';
if (!['server', 'cluster', 'spread'].includes(mode)) throw new Error(`mode: server, cluster or spread, not ${mode}`);
const port = 29490;
const dir = mkdtempSync(join(tmpdir(), 'admit-redis-'));

async function startRedis(): Promise<{ url: string; ports: number[]; stop(): Promise<void> }> {
  if (mode !== 'server') return startRedisCluster(dir, port + 1);
  const url = `redis://127.0.0.1:${port}`;
  const proc = spawnManaged('redis-server', ['--port', String(port), '--save', '', '--dir', dir], join(dir, 'log'));
  await waitFor(() => pingRedis(url), 20_000, 'redis-server', proc);
  return { url, ports: [port], stop: () => proc.stop() };
}

/** Key prefixes whose hash tags land on `count` different primaries (CLUSTER KEYSLOT + CLUSTER SLOTS). */
async function prefixesOnDistinctPrimaries(node: Redis, count: number): Promise<string[]> {
  const ranges = await node.cluster('SLOTS');
  const owner = (slot: number) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
  const picked = new Map<number | undefined, string>();
  for (let i = 0; picked.size < count; i++) {
    const prefix = `admit-${i}:`;
    const primary = owner(Number(await node.cluster('KEYSLOT', `{${prefix}}`)));
    if (!picked.has(primary)) picked.set(primary, prefix);
  }
  return [...picked.values()];
}

async function budgetedPrincipal(t: TestApp): Promise<Principal> {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'bench', max_budget: 1_000_000 });
  const user = await curlPost(t.app, '/user/new', { user_email: 'b@x', team_id: team.body.team_id, max_budget: 1e6 });
  const key = await curlPost(t.app, '/key/generate', { user_id: user.body.user_id, max_budget: 1_000_000 });
  return principalFor(t.app, String(key.body.key));
}

/** Per primary: script calls and CPU µs so far. */
async function scriptStats(nodes: Redis[]): Promise<{ calls: number; usec: number }[]> {
  return Promise.all(
    nodes.map(async (node) => {
      let calls = 0;
      let usec = 0;
      for (const m of (await node.info('commandstats')).matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
        calls += Number(m[1]);
        usec += Number(m[2]);
      }
      return { calls, usec };
    }),
  );
}

const redis = await startRedis();
const nodes = redis.ports.map((p) => new Redis(p, '127.0.0.1'));
const prefixes = mode === 'spread' ? await prefixesOnDistinctPrimaries(nodes[0] as Redis, 3) : ['admit:'];
const apps: TestApp[] = [];
try {
  for (const prefix of prefixes) {
    const config = testConfig({}, testEnv({ REDIS_URL: redis.url }));
    apps.push(await startTestApp({ ...config, redis: { ...config.redis, keyPrefix: prefix } }));
  }
  const principals = await Promise.all(apps.map(budgetedPrincipal));
  const load = loadavg()[0] ?? 0;
  const before = await scriptStats(nodes);
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_c, i) => {
      const app = apps[i % apps.length] as TestApp;
      const principal = principals[i % apps.length] as Principal;
      while (Date.now() < deadline) {
        const result = await simulateCall(app.app, principal, { maxCostNano: 2_000_000, costNano: 1_000_000 });
        if (!result.ok) throw result.error;
        done++;
      }
    }),
  );
  const after = await scriptStats(nodes);
  const perNode = after.map((a, i) => ({
    calls: a.calls - (before[i]?.calls ?? 0),
    usec: a.usec - (before[i]?.usec ?? 0),
  }));
  const busiest = Math.max(...perNode.map((n) => n.usec));
  const luaCalls = perNode.reduce((s, n) => s + n.calls, 0);
  console.log(
    JSON.stringify({
      mode,
      clients,
      seconds,
      load_average: +load.toFixed(1),
      calls: done,
      calls_per_s: Math.round(done / seconds),
      lua_calls_per_call: +(luaCalls / done).toFixed(2),
      redis_us_per_call: +(perNode.reduce((s, n) => s + n.usec, 0) / done).toFixed(1),
      primaries_used: perNode.filter((n) => n.calls > 0).length,
      busiest_primary_us_per_call: +(busiest / done).toFixed(1),
      ceiling_calls_per_s: Math.round(done / (busiest / 1e6)),
    }),
  );
} finally {
  for (const node of nodes) node.disconnect();
  for (const t of apps) await t.close().catch(() => undefined);
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
