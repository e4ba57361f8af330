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
