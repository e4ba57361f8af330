// Who is calling. The master key is an admin; a virtual key carries its attribution and limits.
import { createHash } from 'node:crypto';

export interface Principal {
  kind: 'master' | 'key';
  isAdmin: boolean;
  keyHash: string;
  keyAlias: string | null;
  userId: string | null;
  teamId: string | null;
  /** Models this key may call; empty = all. */
  models: string[];
  /** Default tags merged into every call made with this key. */
  tags: string[];
  metadata: Record<string, string>;
}

/** Keys are stored and looked up only by this hash; the secret itself is shown once and never kept. */
export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Reads the caller's key: `Authorization: Bearer <key>` (OpenAI SDK) or `x-api-key` (Anthropic SDK). */
export function extractKey(headers: Record<string, string | string[] | undefined>): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  return null;
}
