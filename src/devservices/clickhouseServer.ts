// Starts Debian's clickhouse-server (18.16) for `npm start` and `npm test` when no CLICKHOUSE_URL answers.
// The config is ours, the data lives under .data/, and the ports are not ClickHouse's defaults so a
// system-wide server (or a second checkout) is never disturbed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinary, type ManagedProcess, spawnManaged, waitFor } from './process.js';

export const LOCAL_CLICKHOUSE_HTTP_PORT = 18123;
const LOCAL_CLICKHOUSE_TCP_PORT = 19000;

export interface ClickhouseServerXml {
  dataDir: string;
  httpPort: number;
  tcpPort: number;
  /** Mark and uncompressed cache sizes: small when several servers share the machine. */
  cacheBytes?: number;
  /** Further top-level elements (cluster: interserver port, remote_servers, zookeeper, macros). */
  extra?: string;
}

export function clickhouseConfigXml(o: ClickhouseServerXml): string {
  const cache = o.cacheBytes ?? 1073741824;
  return `<?xml version="1.0"?>
<!-- Written by Spendhouse's local-services launcher. Root element <yandex> so 18.16 accepts it. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>${o.dataDir}/log/clickhouse-server.log</log>
    <errorlog>${o.dataDir}/log/clickhouse-server.err.log</errorlog>
    <size>50M</size>
    <count>2</count>
  </logger>
  <http_port>${o.httpPort}</http_port>
  <tcp_port>${o.tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${o.dataDir}/</path>
  <tmp_path>${o.dataDir}/tmp/</tmp_path>
  <user_files_path>${o.dataDir}/user_files/</user_files_path>
  <format_schema_path>${o.dataDir}/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>${cache}</mark_cache_size>
  <uncompressed_cache_size>${cache}</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <!-- Longer than the client's idle-socket TTL even when a busy machine delays its timers, so a pooled
       keep-alive socket is never reused after the server closed it (ECONNRESET "socket hang up"). -->
  <keep_alive_timeout>30</keep_alive_timeout>${o.extra ?? ''}
</yandex>
`;
}

export async function pingClickhouse(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(1500) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startLocalClickhouse(dataRoot: string): Promise<ManagedProcess & { url: string }> {
  await ensureBinary('clickhouse-server', ['clickhouse-server', 'clickhouse-client']);
  const dataDir = join(dataRoot, 'clickhouse');
  for (const sub of ['log', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dataDir, sub), { recursive: true });
  const configPath = join(dataDir, 'config.xml');
  writeFileSync(
    configPath,
    clickhouseConfigXml({ dataDir, httpPort: LOCAL_CLICKHOUSE_HTTP_PORT, tcpPort: LOCAL_CLICKHOUSE_TCP_PORT }),
  );
  const url = `http://127.0.0.1:${LOCAL_CLICKHOUSE_HTTP_PORT}`;
  const proc = spawnManaged('clickhouse-server', ['--config-file', configPath], join(dataDir, 'log', 'stdout.log'));
  await waitFor(() => pingClickhouse(url), 60_000, `clickhouse-server (log: ${dataDir}/log/)`, proc);
  return { ...proc, url };
}
