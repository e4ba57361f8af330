// The Redis slot limit, measured (docs/scaling.md, "Redis"): every budget counter lives under the `{budget}`
// hash tag, so in a Redis Cluster all of them sit in one slot on one primary, and that one Redis core bounds
// admissions for the whole deployment. This runs admit → settle (the proxy's two Lua calls per call) from
// many concurrent clients against a private redis-server and reports calls/s seen by the client and the
// Redis CPU time per call (INFO commandstats), whose inverse is the single-slot ceiling.
//   node --import tsx test/cluster/admitThroughput.ts [seconds=5] [clients=64]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnManaged, waitFor } from '../../src/devservices/process.js';
import { pingRedis } from '../../src/devservices/redisServer.js';
import { curlPost, principalFor, simulateCall } from '../budgetCalls.js';
import { startTestApp, testConfig, testEnv } from '../helpers/testApp.js';

const seconds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 64);
const port = 29490;
const url = `redis://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), 'admit-redis-'));
const redisProc = spawnManaged('redis-server', ['--port', String(port), '--save', '', '--dir', dir], join(dir, 'log'));
await waitFor(() => pingRedis(url), 20_000, 'redis-server', redisProc);

const t = await startTestApp(testConfig({}, testEnv({ REDIS_URL: url })));
const raw = new Redis(url);
try {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'bench', max_budget: 1_000_000 });
  const user = await curlPost(t.app, '/user/new', {
    user_email: 'b@x',
    team_id: team.body.team_id,
    max_budget: 1_000_000,
  });
  const key = await curlPost(t.app, '/key/generate', { user_id: user.body.user_id, max_budget: 1_000_000 });
  const principal = await principalFor(t.app, String(key.body.key));

  const evalStats = async () => {
    const info = await raw.info('commandstats');
    let calls = 0;
    let usec = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
    return { calls, usec };
  };
  const before = await evalStats();
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < deadline) {
        const result = await simulateCall(t.app, principal, { maxCostNano: 2_000_000, costNano: 1_000_000 });
        if (!result.ok) throw result.error;
        done++;
      }
    }),
  );
  const after = await evalStats();
  const luaCalls = after.calls - before.calls;
  const redisUsPerCall = (after.usec - before.usec) / done;
  console.log(
    JSON.stringify({
      clients,
      seconds,
      calls: done,
      calls_per_s: Math.round(done / seconds),
      lua_calls_per_call: +(luaCalls / done).toFixed(2),
      redis_us_per_call: +redisUsPerCall.toFixed(1),
      single_slot_ceiling_calls_per_s: Math.round(1e6 / redisUsPerCall),
    }),
  );
} finally {
  raw.disconnect();
  await t.close();
  await redisProc.stop();
}
