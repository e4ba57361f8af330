// Spendhouse as separate processes, the way users run it (`node bin/spendhouse.mjs serve`), on a fresh
// ClickHouse database and Redis prefix, with a temp config routing the model `bench` to a given upstream.
// Separate so their CPU and memory can be sampled apart from the load generator and the fake provider.
// Two layouts: one process in role `all` (proxy + ingest worker + query API, the default), or N processes
// in role `proxy` behind a balancer plus one in role `worker` (the production layout of docs/scaling.md).
// Each `serve` runs `--workers W` server processes (default 1: one process, no cluster primary); with W > 1
// the primary and its forked processes are all sampled, and the loop probe reports the worst of them.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { LoopReport } from './loopProbe.js';

export interface ServiceUrls {
  clickhouseUrl: string;
  redisUrl: string;
}

export interface SpendhouseProcess {
  role: 'all' | 'proxy' | 'worker';
  pid: number;
  /** Every OS process of this `serve`: the pid alone, or the primary and the processes it forked. */
  pids: number[];
  origin: string;
  /** Event-loop delay and GC since the previous probe (bench/lib/loopProbe.ts). */
  probe(): Promise<LoopReport>;
}

export interface SpendhouseDeployment {
  processes: SpendhouseProcess[];
  /** The origins that take proxied calls (a balancer would spread calls over them; the generator does). */
  proxyOrigins: string[];
  masterKey: string;
  /**
   * Creates a team and a key under it, both with a large monthly budget (the common configuration: a monthly
   * period is computed in the configured zone), so every call reserves and settles on two scopes.
   */
  budgetedKey(): Promise<string>;
  /** Rows in spend_logs once the count stops growing (or reaches `expected`), waiting up to `timeoutMs`. */
  recordCount(expected: number, timeoutMs: number): Promise<number>;
  /** SIGTERM and wait (a --cpu-prof profile is written on this exit). */
  stop(): Promise<void>;
  /** Drops the bench database and Redis keys (a busy ClickHouse can take minutes over a DROP). */
  dropData(): Promise<void>;
}

export interface DeploymentOptions {
  /** 0: one process in role `all`; N ≥ 1: N `proxy` processes and one `worker`. */
  proxies: number;
  /** `serve --workers W` for the `all` / `proxy` processes (the `worker` keeps 1); default 1. */
  workers?: number;
  cpuProfileDir?: string;
  /** LOG_LEVEL of the Spendhouse processes (default `warn`; `info` is what `npm start` and `serve` default to). */
  logLevel?: string;
  /** Extra node flags for the Spendhouse processes (e.g. `--max-old-space-size=512`), after SERVER_NODE_FLAG. */
  nodeOptions?: string[];
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitReady(origin: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`spendhouse exited with ${child.exitCode} while starting`);
    const ok = await fetch(`${origin}/health/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`spendhouse not ready after ${timeoutMs} ms`);
}

/**
 * With `--workers W > 1`: the pids of the W forked server processes once each has printed that it listens
 * (connections are handed out as they come, so load must not start before all of them take some).
 */
function forkedPids(child: ChildProcess, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const pids = new Set<number>();
    const onData = (chunk: Buffer) => {
      text += chunk;
      for (const m of text.matchAll(/server process (\d+) listening/g)) pids.add(Number(m[1]));
      text = text.slice(text.lastIndexOf('\n') + 1);
      if (pids.size < count) return;
      child.off('exit', onExit);
      resolve([...pids]);
    };
    const onExit = (code: number | null) => reject(new Error(`spendhouse exited with ${code} while starting`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Children of a process (Linux): a cluster primary's forked server processes. */
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

/** As package.json's `start` and the Dockerfile's ENTRYPOINT run Spendhouse. */
export const SERVER_NODE_FLAG = '--max-semi-space-size=64';

export const PROBE = fileURLToPath(new URL('./loopProbe.ts', import.meta.url));

export function probeOf(child: ChildProcess): () => Promise<LoopReport> {
  return () =>
    new Promise((resolve) => {
      const onMessage = (message: { probe?: LoopReport }) => {
        if (!message.probe) return;
        child.off('message', onMessage);
        resolve(message.probe);
      };
      child.on('message', onMessage);
      child.send('probe');
    });
}

export async function startSpendhouse(
  services: ServiceUrls,
  upstreamUrl: string,
  options: DeploymentOptions,
): Promise<SpendhouseDeployment> {
  const id = randomBytes(4).toString('hex');
  const database = `bench_proxy_${id}`;
  const keyPrefix = `bench-proxy-${id}:`;
  // `serve` refuses master keys under 32 characters.
  const masterKey = `sk-bench-master-${id}-${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'spendhouse-bench-'));
  const configPath = join(dir, 'config.yaml');
  const prices = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 };
  const model = { model_name: 'bench', litellm_params: { model: 'openai/bench', api_base: `${upstreamUrl}/v1` } };
  writeFileSync(configPath, JSON.stringify({ model_list: [{ ...model, model_info: prices }] })); // JSON is YAML
  const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const children: ChildProcess[] = [];

  async function launch(role: SpendhouseProcess['role']): Promise<SpendhouseProcess> {
    const port = await freePort();
    // The young generation `npm start` and the image give Spendhouse (a later --node-options flag wins).
    const node = [SERVER_NODE_FLAG, ...(options.nodeOptions ?? []), ...profiling, '--import', 'tsx', '--import', PROBE];
    const workers = role === 'worker' ? 1 : (options.workers ?? 1);
    const args = [...node, 'bin/spendhouse.mjs', 'serve', '--workers', String(workers)];
    const child = spawn(process.execPath, [...args, '--port', String(port), '--role', role], {
      env: {
        ...process.env,
        CLICKHOUSE_URL: services.clickhouseUrl,
        CLICKHOUSE_DATABASE: database,
        REDIS_URL: services.redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        MASTER_KEY: masterKey,
        CONFIG_FILE_PATH: configPath,
        LOG_LEVEL: options.logLevel ?? 'warn',
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.push(child);
    const forked = workers > 1 ? forkedPids(child, workers) : Promise.resolve([]);
    forked.catch(() => {}); // an exit while starting is reported by waitReady
    child.stdout?.resume(); // the banner and the primary's lines; read above, never let the pipe fill
    const origin = `http://127.0.0.1:${port}`;
    await waitReady(origin, child, 120_000);
    const pid = child.pid ?? 0;
    const pids = workers > 1 ? [pid, ...(await forked)] : [pid];
    if (workers > 1 && childrenOf(pid).length !== workers) throw new Error(`expected ${workers} forked processes`);
    return { role, pid, pids, origin, probe: probeOf(child) };
  }

  // The first process applies the migrations; the others start once it is ready (no migration lock waits).
  const processes: SpendhouseProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        await once(child, 'exit');
      }),
    );
  };
  try {
    if (options.proxies === 0) processes.push(await launch('all'));
    else {
      processes.push(await launch('worker'));
      processes.push(...(await Promise.all(Array.from({ length: options.proxies }, () => launch('proxy')))));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const proxyOrigins = processes.filter((p) => p.role !== 'worker').map((p) => p.origin);
  const admin = async (path: string, body: object) => {
    const res = await fetch(`${proxyOrigins[0]}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const clickhouse = async (query: string) => {
    const res = await fetch(`${services.clickhouseUrl}/?query=${encodeURIComponent(query)}`, { method: 'POST' });
    if (!res.ok) throw new Error(`clickhouse: ${res.status} ${await res.text()}`);
    return (await res.text()).trim();
  };
  return {
    processes,
    proxyOrigins,
    masterKey,
    async budgetedKey() {
      const budget = { max_budget: 1_000_000, budget_duration: '30d' };
      const team = await admin('/team/new', { team_alias: 'bench', ...budget });
      const key = await admin('/key/generate', { team_id: team.team_id, key_alias: 'bench', ...budget });
      return String(key.key);
    },
    async recordCount(expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let count = -1;
      let stableSince = Date.now();
      while (Date.now() < deadline) {
        const now = Number(await clickhouse(`SELECT count() FROM ${database}.spend_logs`));
        if (now >= expected) return now;
        if (now !== count) stableSince = Date.now();
        else if (Date.now() - stableSince > 15_000) return now;
        count = now;
        await sleep(1000);
      }
      return count;
    },
    stop,
    async dropData() {
      await clickhouse(`DROP DATABASE IF EXISTS ${database}`);
      const redis = new Redis(services.redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
