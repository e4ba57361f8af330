// Who is calling. The master key is an admin; a virtual key carries its attribution and limits.
import { createHash } from 'node:crypto';

/** What a non-admin key may do beyond calling models: `ingest` = POST /ingest/v1/records. */
export const KEY_PERMISSIONS = ['ingest'] as const;
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];

/**
 * Whose spend the caller may read: `all` (master key, keys of proxy_admin / proxy_admin_viewer users),
 * `team` (a key of a user who is an admin of the key's team) or `key` (only the calls made with itself).
 */
export type SpendVisibility = 'all' | 'team' | 'key';

export interface Principal {
  kind: 'master' | 'key';
  /** May manage keys, teams, users, budgets and everything else (master key, proxy_admin users' keys). */
  isAdmin: boolean;
  spendVisibility: SpendVisibility;
  permissions: KeyPermission[];
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

/** Reads the caller's key: `Authorization: Bearer <key>` (OpenAI SDK), `x-api-key` (Anthropic SDK) or `api-key` (Azure). */
export function extractKey(headers: Record<string, string | string[] | undefined>): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match?.[1]) return match[1].trim();
  }
  // Anthropic SDKs send `x-api-key`; Azure OpenAI SDKs (`AzureOpenAI`, LiteLLM's Azure clients) `api-key`.
  for (const name of ['x-api-key', 'api-key']) {
    const apiKey = headers[name];
    if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  }
  return null;
}
