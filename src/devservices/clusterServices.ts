// A local ClickHouse cluster for the cluster suite (npm run test:cluster) and for trying cluster mode by
// hand: Debian's ZooKeeper (3.8, `apt-get install zookeeper`) on a non-default port and
// shards × replicas clickhouse-server 18.16 processes on loopback, each with the same remote_servers
// (internal_replication: the Replicated tables copy data between replicas, Distributed writes one replica
// per shard), its own {shard}/{replica} macros and the distributed DDL queue (ON CLUSTER). Everything lives
// in one data directory; nodes can be stopped and started again (replica failure tests).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { clickhouseConfigXml, pingClickhouse } from './clickhouseServer.js';
import { ensureBinary, ensureInstalled, type ManagedProcess, spawnManaged, waitFor } from './process.js';

export interface ClusterLayout {
  name: string;
  shards: number;
  replicas: number;
  /** Ports: ZooKeeper at base, node i at base + 10·(i+1) (+0 http, +1 native, +2 interserver). */
  basePort: number;
}

export interface ClusterNode {
  shard: number;
  replica: number;
  url: string;
  ports: { http: number; tcp: number; interserver: number };
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL, synchronously (an exiting parent's last resort). */
  kill(): void;
}

export interface LocalCluster {
  layout: ClusterLayout;
  zookeeperPort: number;
  nodes: ClusterNode[];
  stop(): Promise<void>;
  /** SIGKILL everything, synchronously (for process 'exit' handlers). */
  kill(): void;
}

function nodePorts(layout: ClusterLayout, index: number) {
  const base = layout.basePort + 10 * (index + 1);
  return { http: base, tcp: base + 1, interserver: base + 2 };
}

export function clusterNodeConfigXml(layout: ClusterLayout, dataDir: string, index: number, zkPort: number): string {
  const ports = nodePorts(layout, index);
  const shards = Array.from({ length: layout.shards }, (_s, shard) => {
    const replicas = Array.from({ length: layout.replicas }, (_r, replica) => {
      const p = nodePorts(layout, shard * layout.replicas + replica);
      return `<replica><host>127.0.0.1</host><port>${p.tcp}</port></replica>`;
    }).join('');
    return `<shard><internal_replication>true</internal_replication>${replicas}</shard>`;
  }).join('\n      ');
  const shard = Math.floor(index / layout.replicas) + 1;
  const replica = `r${(index % layout.replicas) + 1}`;
  // Small caches: several servers share a 2-core machine (18.16 has no max_server_memory_usage).
  return clickhouseConfigXml({
    dataDir,
    httpPort: ports.http,
    tcpPort: ports.tcp,
    cacheBytes: 67108864,
    extra: `
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <remote_servers>
    <${layout.name}>
      ${shards}
    </${layout.name}>
  </remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>${zkPort}</port></node><session_timeout_ms>30000</session_timeout_ms></zookeeper>
  <macros><shard>${shard}</shard><replica>${replica}</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>`,
  });
}

/**
 * ZooKeeper's four-letter `srvr` names the server's mode once it serves sessions. (`ruok` answers `imok`
 * earlier, while a session handshake is still refused — and 18.16's DDL worker segfaults on that refusal.)
 */
function zookeeperServing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.write('srvr'));
    socket.on('data', (d) => {
      answer += d.toString();
    });
    socket.on('close', () => resolve(answer.includes('Mode: ')));
    socket.on('error', () => resolve(false));
  });
}

async function startZookeeper(dataRoot: string, port: number): Promise<ManagedProcess> {
  const classpath = '/usr/share/java/zookeeper.jar';
  // Checks the jar, not java: a JRE from another package is no ZooKeeper.
  await ensureInstalled('ZooKeeper', () => existsSync(classpath), ['zookeeper']);
  const dir = join(dataRoot, 'zookeeper');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      'tickTime=2000',
      `dataDir=${dir}/data`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      'maxClientCnxns=0',
      '4lw.commands.whitelist=srvr',
      '',
    ].join('\n'),
  );
  const proc = spawnManaged(
    'java',
    ['-Xmx256m', '-cp', classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
    join(dir, 'zookeeper.log'),
  );
  await waitFor(() => zookeeperServing(port), 60_000, `zookeeper (log: ${dir}/zookeeper.log)`, proc);
  return proc;
}

function clusterNode(layout: ClusterLayout, dataRoot: string, index: number, zkPort: number): ClusterNode {
  const ports = nodePorts(layout, index);
  const dataDir = join(dataRoot, `ch${index + 1}`);
  for (const sub of ['log', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dataDir, sub), { recursive: true });
  const configPath = join(dataDir, 'config.xml');
  writeFileSync(configPath, clusterNodeConfigXml(layout, dataDir, index, zkPort));
  const url = `http://127.0.0.1:${ports.http}`;
  let proc: ManagedProcess | null = null;
  return {
    shard: Math.floor(index / layout.replicas) + 1,
    replica: (index % layout.replicas) + 1,
    url,
    ports,
    running: () => proc !== null && proc.child.exitCode === null,
    async start() {
      proc = spawnManaged('clickhouse-server', ['--config-file', configPath], join(dataDir, 'log', 'stdout.log'));
      await waitFor(() => pingClickhouse(url), 90_000, `clickhouse node ${index + 1} (log: ${dataDir}/log/)`, proc);
    },
    async stop() {
      await proc?.stop();
      proc = null;
    },
    kill() {
      proc?.child.kill('SIGKILL');
    },
  };
}

/** Starts ZooKeeper and every node (in parallel); `stop()` stops them all, nodes first. */
export async function startLocalCluster(dataRoot: string, layout: ClusterLayout): Promise<LocalCluster> {
  await ensureBinary('clickhouse-server', ['clickhouse-server', 'clickhouse-client']);
  const zookeeperPort = layout.basePort;
  const zookeeper = await startZookeeper(dataRoot, zookeeperPort);
  const nodes = Array.from({ length: layout.shards * layout.replicas }, (_n, i) =>
    clusterNode(layout, dataRoot, i, zookeeperPort),
  );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await zookeeper.stop();
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  const kill = () => {
    for (const node of nodes) node.kill();
    zookeeper.child.kill('SIGKILL');
  };
  return { layout, zookeeperPort, nodes, stop, kill };
}
