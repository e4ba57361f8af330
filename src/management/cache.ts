// Cache of control-plane docs in front of ClickHouse, shared by every proxy instance.
//
// Invalidation is one epoch counter in Redis (`control:epoch`): every management write bumps it. Cached docs
// live under keys that contain the epoch, so a bump invalidates everything at once on every instance without
// chasing individual entries (the control plane changes rarely; the first call per entity after a change
// costs one ClickHouse read, shared by all instances through Redis). Each instance keeps an in-process map
// for the current epoch, so a proxied call's key, team and budget look-ups cost no Redis read. The writer
// publishes the new epoch (pub/sub), so a change reaches every instance within milliseconds; a slow poll of
// the counter (every 5 s) covers a message lost while a subscriber reconnects. The instance that handled the
// change clears its map before answering, so a revocation is immediate there. In-flight loads are shared
// (one ClickHouse read per id per epoch per instance).
import type { Redis } from 'ioredis';
import { type DocOf, KINDS, type Kind } from './entities.js';
import type { ControlStore } from './store.js';

export const CONTROL_EPOCH_KEY = 'control:epoch';
/** The safety-net poll: pub/sub carries changes; this bounds the staleness after a lost message. */
const POLL_MS = 5_000;
const REDIS_TTL_SECONDS = 600;
/** Bound on the in-process map; past it the map is simply cleared (entries refill from Redis). */
const LOCAL_MAX_ENTRIES = 100_000;

export class ControlCache {
  private epoch: string | null = null;
  private local = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private subscriber: Redis | null = null;
  /** Channels are not key-prefixed by ioredis: the deployment's prefix is added here. */
  private readonly channel: string;

  constructor(
    readonly store: ControlStore,
    private readonly redis: Redis,
    private readonly onError: (err: unknown) => void,
  ) {
    this.channel = `${redis.options.keyPrefix ?? ''}${CONTROL_EPOCH_KEY}`;
  }

  async start(): Promise<void> {
    const subscriber = this.redis.duplicate();
    subscriber.on('error', (err) => this.onError(err));
    subscriber.on('message', (channel: string, epoch: string) => {
      if (channel === this.channel) this.setEpoch(epoch);
    });
    this.subscriber = subscriber;
    // Redis down at boot: the poll below keeps the epoch, ioredis subscribes again once it reconnects.
    await subscriber.subscribe(this.channel).catch((err: unknown) => this.onError(err));
    // After the subscription, so no bump falls between the read and the first message.
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const subscriber = this.subscriber;
    this.subscriber = null;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  private setEpoch(epoch: string | null): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.local.clear();
  }

  private async poll(): Promise<void> {
    try {
      this.setEpoch(await this.redis.get(CONTROL_EPOCH_KEY));
    } catch (err) {
      // Redis down: keep serving the last known docs; budgets have their own fail mode.
      this.onError(err);
    }
  }

  /** Call after every management write, before answering the request. */
  async invalidate(): Promise<void> {
    this.local.clear();
    try {
      const epoch = String(await this.redis.incr(CONTROL_EPOCH_KEY));
      this.setEpoch(epoch);
      await this.redis.publish(this.channel, epoch);
    } catch (err) {
      this.epoch = null;
      this.onError(err);
    }
  }

  get<K extends Kind>(kind: K, id: string): Promise<DocOf<K> | null> {
    const localKey = `${kind}\n${id}`;
    let pending = this.local.get(localKey) as Promise<DocOf<K> | null> | undefined;
    if (!pending) {
      if (this.local.size >= LOCAL_MAX_ENTRIES) this.local.clear();
      pending = this.load(kind, id);
      this.local.set(localKey, pending);
      pending.catch(() => this.local.delete(localKey));
    }
    return pending;
  }

  private async load<K extends Kind>(kind: K, id: string): Promise<DocOf<K> | null> {
    const redisKey = `control:doc:${this.epoch ?? '0'}:${kind}:${id}`;
    try {
      const cached = await this.redis.get(redisKey);
      if (cached !== null) {
        const parsed: unknown = JSON.parse(cached);
        return parsed === null ? null : (KINDS[kind].schema.parse(parsed) as DocOf<K>);
      }
    } catch (err) {
      this.onError(err);
    }
    const doc = await this.store.get(kind, id);
    try {
      await this.redis.set(redisKey, JSON.stringify(doc), 'EX', REDIS_TTL_SECONDS);
    } catch (err) {
      this.onError(err);
    }
    return doc;
  }
}
