// Dashboard sessions in Redis. The browser holds a random 256-bit id in an httpOnly cookie; Redis holds only
// the id's SHA-256 (a leaked dump cannot be replayed) with a TTL. A session names *who* logged in, never a
// frozen Principal: a key login is re-resolved on every request, so blocking, deleting or rotating the key
// ends its dashboard session too.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const SESSION_COOKIE = 'spendhouse_session';
export const SESSION_TTL_SECONDS = 12 * 3600;

export const sessionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('admin'), username: z.string(), createdAt: z.number() }),
  z.object({ kind: z.literal('key'), keyHash: z.string(), createdAt: z.number() }),
]);
export type Session = z.infer<typeof sessionSchema>;

const storageKey = (id: string) => `ui:session:${createHash('sha256').update(id).digest('hex')}`;

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {}

  async create(session: Session): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.redis.set(storageKey(id), JSON.stringify(session), 'EX', this.ttlSeconds);
    return id;
  }

  async get(id: string): Promise<Session | null> {
    // Ids we never issued cannot be in Redis; the length check only spares a round trip on garbage.
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const raw = await this.redis.get(storageKey(id));
    if (!raw) return null;
    const parsed = sessionSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(storageKey(id));
  }
}

/** Failed logins per (username, IP) in a fixed window: after `limit` failures, refuse until it expires. */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    readonly limit = 5,
    readonly windowSeconds = 15 * 60,
  ) {}

  private key(username: string, ip: string): string {
    return `ui:login-fail:${createHash('sha256').update(`${username}\n${ip}`).digest('hex')}`;
  }

  /** Seconds until the caller may try again, or 0 when it may try now. */
  async retryAfter(username: string, ip: string): Promise<number> {
    const key = this.key(username, ip);
    const [count, ttl] = await Promise.all([this.redis.get(key), this.redis.ttl(key)]);
    if (Number(count ?? 0) < this.limit) return 0;
    return ttl > 0 ? ttl : this.windowSeconds;
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    // One transaction, so a counter never outlives its window; NX: later failures do not extend the window.
    await this.redis
      .multi()
      .incr(this.key(username, ip))
      .expire(this.key(username, ip), this.windowSeconds, 'NX')
      .exec();
  }

  async reset(username: string, ip: string): Promise<void> {
    await this.redis.del(this.key(username, ip));
  }
}
