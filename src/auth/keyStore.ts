// Resolves a key hash to a Principal. The config's static `keys:` list is the first source; the
// management API (virtual keys in ClickHouse, cached in Redis) plugs in as another resolver.
import type { AppConfig } from '../config/load.js';
import { hashKey, KEY_PERMISSIONS, type Principal } from './principal.js';

export type KeyResolver = (keyHash: string) => Promise<Principal | null>;

export function staticKeyResolver(config: AppConfig): KeyResolver {
  const byHash = new Map<string, Principal>();
  for (const k of config.file.keys) {
    const keyHash = hashKey(k.key);
    byHash.set(keyHash, {
      kind: 'key',
      isAdmin: false,
      spendVisibility: 'key',
      permissions: k.permissions ?? [],
      keyHash,
      keyAlias: k.key_alias ?? null,
      userId: k.user_id ?? null,
      teamId: k.team_id ?? null,
      models: k.models ?? [],
      tags: k.tags ?? [],
      metadata: {},
    });
  }
  return async (keyHash) => byHash.get(keyHash) ?? null;
}

export function masterPrincipal(masterKey: string): Principal {
  return {
    kind: 'master',
    isAdmin: true,
    spendVisibility: 'all',
    permissions: [...KEY_PERMISSIONS],
    keyHash: hashKey(masterKey),
    keyAlias: 'master',
    userId: null,
    teamId: null,
    models: [],
    tags: [],
    metadata: {},
  };
}
