// Redis in the shapes production uses, on loopback, for the cluster suite and for trying them by hand:
// - a Redis Cluster of N primaries (`redis-server --cluster-enabled yes` + `redis-cli --cluster create`);
// - a primary, a replica and a Sentinel watching them (`redis-server <conf> --sentinel`).
// Each returns the URL the app takes (src/redis/connection.ts) and stops everything it started.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pollUntil } from '../retry.js';
import { ensureBinary, type ManagedProcess, spawnManaged, waitFor } from './process.js';
import { pingRedis } from './redisServer.js';

const run = promisify(execFile);

export interface RedisTopology {
  url: string;
  /** Every server's port, primaries first. */
  ports: number[];
  stop(): Promise<void>;
  /** SIGKILL, synchronously (an exiting parent's last resort). */
  kill(): void;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
}

function startServer(dataRoot: string, name: string, args: string[]): ManagedProcess {
  const dir = join(dataRoot, name);
  mkdirSync(dir, { recursive: true });
  const common = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  return spawnManaged('redis-server', [...args, ...common], join(dir, 'redis.log'));
}

async function startAll(
  dataRoot: string,
  servers: { name: string; port: number; args: string[] }[],
): Promise<ManagedProcess[]> {
  const procs: ManagedProcess[] = [];
  try {
    for (const s of servers) {
      const proc = startServer(dataRoot, s.name, s.args);
      procs.push(proc);
      await waitFor(() => pingRedis(`redis://127.0.0.1:${s.port}`), 20_000, `redis ${s.name} (port ${s.port})`, proc);
    }
    return procs;
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
}

function topology(url: string, ports: number[], procs: ManagedProcess[]): RedisTopology {
  return {
    url,
    ports,
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
    kill: () => {
      for (const p of procs) p.child.kill('SIGKILL');
    },
  };
}

function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return pollUntil(() => check().catch(() => false), {
    everyMs: 200,
    timeoutMs,
    timeoutError: () => new Error(`${what} not ready within ${timeoutMs / 1000}s`),
  });
}

/** `primaries` cluster-enabled servers on basePort… (bus ports +100), slots split evenly, no replicas. */
export async function startRedisCluster(dataRoot: string, basePort: number, primaries = 3): Promise<RedisTopology> {
  await ensureBinary('redis-server', ['redis-server']);
  const ports = Array.from({ length: primaries }, (_p, i) => basePort + i);
  const procs = await startAll(
    dataRoot,
    ports.map((port) => ({
      name: `redis-cluster-${port}`,
      port,
      args: [
        '--port',
        String(port),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        // The bus port defaults to port + 10000, inside Linux's ephemeral range (32768–60999) for the ports
        // we use: an outgoing connection can hold it. port + 100 stays outside.
        '--cluster-port',
        String(port + 100),
        '--cluster-node-timeout',
        '5000',
      ],
    })),
  );
  const state = topology(`redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, procs);
  try {
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    // Every node must agree the slots are covered before a client's first CLUSTER SLOTS.
    for (const port of ports) {
      await until(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), 30_000, `cluster`);
    }
    return state;
  } catch (err) {
    await state.stop();
    throw err;
  }
}

export const SENTINEL_MASTER_NAME = 'spendhouse';

/** A primary on basePort, its replica on basePort+1, one Sentinel (quorum 1) on basePort+2. */
export async function startRedisSentinel(dataRoot: string, basePort: number): Promise<RedisTopology> {
  await ensureBinary('redis-server', ['redis-server']);
  const [primary, replica, sentinel] = [basePort, basePort + 1, basePort + 2];
  const sentinelDir = join(dataRoot, `redis-sentinel-${sentinel}`);
  mkdirSync(sentinelDir, { recursive: true });
  // Sentinel rewrites its config file (known replicas, epochs), so it must be a writable file of its own.
  const conf = join(sentinelDir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinel}`,
      `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${primary} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 2000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
      '',
    ].join('\n'),
  );
  const procs = await startAll(dataRoot, [
    { name: `redis-primary-${primary}`, port: primary, args: ['--port', String(primary)] },
    {
      name: `redis-replica-${replica}`,
      port: replica,
      args: ['--port', String(replica), '--replicaof', '127.0.0.1', String(primary)],
    },
    { name: `redis-sentinel-${sentinel}`, port: sentinel, args: [conf, '--sentinel'] },
  ]);
  const state = topology(
    `redis-sentinel://127.0.0.1:${sentinel}/${SENTINEL_MASTER_NAME}`,
    [primary, replica, sentinel],
    procs,
  );
  try {
    await until(
      async () => (await cli(replica, 'info', 'replication')).includes('master_link_status:up'),
      30_000,
      'replica',
    );
    await until(
      async () => (await cli(sentinel, 'sentinel', 'replicas', SENTINEL_MASTER_NAME)).includes(String(replica)),
      30_000,
      'sentinel',
    );
    return state;
  } catch (err) {
    await state.stop();
    throw err;
  }
}
