// Where Redis is, from one URL (REDIS_URL / redis.url), in three shapes (docs/scaling.md, "Redis"):
//   redis://[user:pass@]host:port[/db]              one server (rediss:// for TLS)
//   redis-sentinel://[user:pass@]host:port,host:port/<master name>[/db]
//                                                   a primary found through Sentinel (ioredis follows failovers)
//   redis-cluster://[user:pass@]host:port,host:port  a Redis Cluster (any reachable nodes; the rest are discovered)
// The two new schemes list several hosts, which WHATWG URL cannot parse, hence the small parser. Lettuce and
// others spell them alike (`redis-sentinel://h1:26379,h2:26379/…`); credentials are the data nodes' and,
// for Sentinel, are also sent to the sentinels.
import { type RedisOptions as BullRedisOptions, createIORedisClient, RedisConnection } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface RedisHost {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | ({ kind: 'sentinel'; sentinels: RedisHost[]; name: string; db: number } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisHost[] } & Credentials);

const FIELD = 'redis.url (REDIS_URL)';

function badUrl(why: string): Error {
  return new Error(`${FIELD}: ${why}`);
}

function parseHosts(list: string, defaultPort: number): RedisHost[] {
  return list.split(',').map((entry) => {
    const match = /^([^:]+)(?::(\d+))?$/.exec(entry.trim());
    const port = Number(match?.[2] ?? defaultPort);
    if (!match?.[1] || !(port > 0 && port < 65536)) throw badUrl(`"${entry}" is not host[:port]`);
    return { host: match[1], port };
  });
}

function parseCredentials(userinfo: string | undefined): Credentials {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(':');
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw badUrl('user or password is not valid percent-encoding (write % as %25)');
    }
  };
  // As ioredis and BullMQ read redis://…: without a colon the userinfo is a user name (`redis://:pw@h` for
  // a password alone), so one spelling means the same for every URL form and every client built from it.
  const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  return { ...(user ? { username: user } : {}), ...(password ? { password } : {}) };
}

function parseDb(text: string | undefined): number {
  const db = Number(text ?? 0);
  if (!Number.isInteger(db) || db < 0) throw badUrl(`database "${text}" is not a number`);
  return db;
}

export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+-]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'single', url };
  if (scheme !== 'redis-sentinel' && scheme !== 'redis-cluster') {
    // Never echo the URL itself: without a recognisable scheme, the password may be anywhere in it.
    const what = scheme ? `unknown scheme "${scheme}"` : 'no scheme';
    throw badUrl(`${what} (redis://, rediss://, redis-sentinel://, redis-cluster://)`);
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const credentials = parseCredentials(at < 0 ? undefined : rest.slice(0, at));
  const [hostList = '', ...path] = rest.slice(at + 1).split('/');
  if (scheme === 'redis-cluster') {
    if (path.some((p) => p !== '')) throw badUrl('a Redis Cluster has no database or name in its URL');
    return { kind: 'cluster', nodes: parseHosts(hostList, 6379), ...credentials };
  }
  const [name, db, ...extra] = path;
  if (!name || extra.length) throw badUrl('redis-sentinel://host:port[,host:port…]/<master name>[/<db>]');
  return { kind: 'sentinel', sentinels: parseHosts(hostList, 26379), name, db: parseDb(db), ...credentials };
}

/**
 * The key prefix the app's client really uses. On a Redis Cluster every key of the app is put in one hash
 * slot by wrapping the prefix in a hash tag (`spendhouse:` → `{spendhouse:}`), unless it has a tag already:
 * pipelines, MULTI and Lua scripts across the app's keys then stay valid, as on one server. Budgets already
 * were one slot (`{budget}`), the only hot one; docs/scaling.md measures what that slot allows.
 */
export function effectiveKeyPrefix(url: string, keyPrefix: string): string {
  if (parseRedisUrl(url).kind !== 'cluster' || /\{[^}]+\}/.test(keyPrefix)) return keyPrefix;
  if (!keyPrefix) throw new Error('redis.key_prefix (REDIS_KEY_PREFIX): must not be empty on a Redis Cluster');
  return `{${keyPrefix}}`;
}

/** A client for the configured target; a Cluster is typed as Redis (same command interface, see plugin). */
export function connectRedis(url: string, options: RedisOptions): Redis {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(url, options);
  if (target.kind === 'sentinel') return new Redis({ ...options, ...sentinelFields(target) });
  const { keyPrefix, enableAutoPipelining, ...redisOptions } = options;
  const cluster = new Cluster(target.nodes, {
    keyPrefix,
    enableAutoPipelining,
    redisOptions: { ...redisOptions, username: target.username, password: target.password },
  });
  return cluster as unknown as Redis;
}

/**
 * After a failover the old primary stays up as a replica and ioredis' socket to it stays open: a READONLY
 * reply makes the client reconnect (through Sentinel, to the new primary) and resend the command, which is
 * safe: a refused write changed nothing. (ioredis' `failoverDetector` would notice sooner, but its sentinel
 * subscribers outlive a client closed while they connect, keeping the process alive.)
 */
function sentinelFields(target: Extract<RedisTarget, { kind: 'sentinel' }>) {
  return {
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    sentinels: target.sentinels,
    name: target.name,
    db: target.db,
    username: target.username,
    password: target.password,
    sentinelUsername: target.username,
    sentinelPassword: target.password,
  };
}

/**
 * BullMQ's connection options. BullMQ builds its own clients from options (and closes them), but only
 * standalone/Sentinel ones; for a cluster the options carry the nodes and `installBullClusterFactory` teaches
 * BullMQ to build a Cluster from them.
 */
export function bullRedisOptions(url: string): BullRedisOptions {
  const target = parseRedisUrl(url);
  const base = { maxRetriesPerRequest: null };
  if (target.kind === 'sentinel') return { ...base, ...sentinelFields(target) };
  if (target.kind === 'cluster') {
    installBullClusterFactory();
    return { ...base, username: target.username, password: target.password, clusterNodes: target.nodes };
  }
  const u = new URL(url);
  return {
    ...base,
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: parseDb(u.pathname.replace(/^\//, '') || undefined),
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * BullMQ's queue prefix. On a cluster every key of a queue must share a slot (BullMQ's docs: "use a hash
 * tag in the prefix"), so the prefix becomes `{<key_prefix>bull}`; elsewhere it stays `<key_prefix>bull`
 * (existing queues keep their keys).
 */
export function bullKeyPrefix(url: string, keyPrefix: string): string {
  return parseRedisUrl(url).kind === 'cluster' ? `{${keyPrefix}bull}` : `${keyPrefix}bull`;
}

type BullFactory = NonNullable<typeof RedisConnection.clientFactory>;
const bullClusterFactory: BullFactory & { previous?: BullFactory } = (opts) => {
  const { clusterNodes, url, ...rest } = opts as RedisOptions & { clusterNodes?: RedisHost[]; url?: string };
  if (clusterNodes) {
    const { username, password, maxRetriesPerRequest, connectionName, retryStrategy } = rest;
    return createIORedisClient(
      new Cluster(clusterNodes, {
        redisOptions: { username, password, maxRetriesPerRequest, connectionName },
        clusterRetryStrategy: retryStrategy,
      }),
    );
  }
  // Anything else exactly as BullMQ itself would build it.
  if (bullClusterFactory.previous) return bullClusterFactory.previous(opts);
  return createIORedisClient(url ? new Redis(url, rest) : new Redis(rest));
};

/** Lets BullMQ build (and later close) Cluster clients from `bullRedisOptions`; process-wide, idempotent. */
function installBullClusterFactory(): void {
  if (RedisConnection.clientFactory === bullClusterFactory) return;
  bullClusterFactory.previous = RedisConnection.clientFactory;
  RedisConnection.clientFactory = bullClusterFactory;
}
