// The floor (bench/lib/floorProxy.ts) as a deployment the proxy suite drives exactly as it drives Spendhouse:
// same generator, same fake provider, same samplers and loop probe, so `--floor` prints the same tables for
// the least a budgeted, recorded proxy must do per call. Its records are a Redis list (no ingest worker).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import {
  type DeploymentOptions,
  freePort,
  PROBE,
  probeOf,
  SERVER_NODE_FLAG,
  type ServiceUrls,
  type SpendhouseDeployment,
  sleep,
  waitReady,
} from './spendhouseProcess.js';

const FLOOR = fileURLToPath(new URL('./floorProxy.ts', import.meta.url));

export async function startFloor(
  services: ServiceUrls,
  upstreamUrl: string,
  options: Pick<DeploymentOptions, 'cpuProfileDir' | 'nodeOptions'> & { http: string },
): Promise<SpendhouseDeployment> {
  const id = randomBytes(4).toString('hex');
  const prefix = `bench-floor-${id}:`;
  const key = `sk-floor-${id}`;
  const port = await freePort();
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const node = [SERVER_NODE_FLAG, ...(options.nodeOptions ?? []), ...profiling, '--import', 'tsx', '--import', PROBE];
  const child: ChildProcess = spawn(process.execPath, [...node, FLOOR], {
    env: {
      ...process.env,
      FLOOR_UPSTREAM: upstreamUrl,
      FLOOR_PREFIX: prefix,
      FLOOR_KEY: key,
      FLOOR_REDIS_URL: services.redisUrl,
      FLOOR_PORT: String(port),
      FLOOR_HTTP: options.http,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(origin, child, 60_000);
  const redis = new Redis(services.redisUrl);
  return {
    processes: [{ role: 'proxy', pid: child.pid ?? 0, pids: [child.pid ?? 0], origin, probe: probeOf(child) }],
    proxyOrigins: [origin],
    masterKey: key,
    budgetedKey: async () => key,
    async recordCount(expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let count = await redis.llen(`${prefix}records`);
      while (count < expected && Date.now() < deadline) {
        await sleep(200);
        count = await redis.llen(`${prefix}records`);
      }
      return count;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
    async dropData() {
      const found = await redis.keys(`${prefix}*`);
      if (found.length) await redis.del(...found);
      redis.disconnect();
    },
  };
}
