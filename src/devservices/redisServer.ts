// Starts a local redis-server (AOF on, data under .data/redis) when no REDIS_URL answers.
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ensureBinary, type ManagedProcess, spawnManaged, waitFor } from './process.js';

export const LOCAL_REDIS_PORT = 16379;

/** Speaks just enough RESP to send PING: no client library needed before dependencies are checked. */
export function pingRedis(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const password = decodeURIComponent(u.password);
      if (password) socket.write(`AUTH ${u.username ? `${decodeURIComponent(u.username)} ` : ''}${password}\r\n`);
      socket.write('PING\r\n');
    });
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (buffer.includes('+PONG')) done(true);
      else if (buffer.includes('-')) done(false);
    });
  });
}

export async function startLocalRedis(dataRoot: string): Promise<ManagedProcess & { url: string }> {
  await ensureBinary('redis-server', ['redis-server']);
  const dataDir = join(dataRoot, 'redis');
  mkdirSync(dataDir, { recursive: true });
  const url = `redis://127.0.0.1:${LOCAL_REDIS_PORT}`;
  const args = [
    '--port',
    String(LOCAL_REDIS_PORT),
    '--bind',
    '127.0.0.1',
    '--dir',
    dataDir,
    '--appendonly',
    'yes',
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  const proc = spawnManaged('redis-server', args, join(dataDir, 'redis.log'));
  await waitFor(() => pingRedis(url), 20_000, `redis-server (log: ${dataDir}/redis.log)`, proc);
  return { ...proc, url };
}
