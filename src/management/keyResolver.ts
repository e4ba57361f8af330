// Virtual keys for `app.authenticate`: key hash → Principal through the control-plane cache. A blocked or
// expired key is refused with a 401 that says why; a rotated key resolves to its successor until its grace
// period ends (spend is then attributed to the new key).
import type { KeyResolver } from '../auth/keyStore.js';
import type { Principal, SpendVisibility } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { ControlPlane } from './control.js';
import { type KeyDoc, type MemberDoc, memberId, type UserDoc } from './entities.js';

const MAX_ROTATION_HOPS = 16;

const unauthorized = (message: string) => new AppError('unauthorized', message, { type: 'invalid_request_error' });

function expired(doc: KeyDoc, now: Date): boolean {
  return doc.expires !== null && Date.parse(doc.expires) <= now.getTime();
}

function metadataStrings(metadata: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** LiteLLM's roles: proxy admins (and their read-only viewers) see all spend, a team's admins see the team's. */
function spendVisibility(user: UserDoc | null, member: MemberDoc | null): SpendVisibility {
  if (user?.user_role === 'proxy_admin' || user?.user_role === 'proxy_admin_viewer') return 'all';
  return member?.role === 'admin' ? 'team' : 'key';
}

export function virtualKeyResolver(plane: ControlPlane): KeyResolver {
  return async (keyHash) => {
    const now = plane.now();
    let doc = await plane.cache.get('key', keyHash);
    if (!doc) return null;
    // Follow rotations (a key rotated twice within its grace periods is a chain); every hop must be live.
    for (let hops = 0; doc.rotated_to; hops++) {
      if (expired(doc, now) || hops >= MAX_ROTATION_HOPS) return null;
      doc = await plane.cache.get('key', doc.rotated_to);
      if (!doc) return null;
    }
    if (doc.blocked) throw unauthorized('this key is blocked');
    if (expired(doc, now)) throw unauthorized(`this key expired at ${doc.expires}`);
    // A key without its own model list may call what its team may call (LiteLLM's rule).
    const [team, user, member] = await Promise.all([
      doc.team_id && doc.models.length === 0 ? plane.cache.get('team', doc.team_id) : null,
      doc.user_id ? plane.cache.get('user', doc.user_id) : null,
      doc.user_id && doc.team_id ? plane.cache.get('member', memberId(doc.team_id, doc.user_id)) : null,
    ]);
    const principal: Principal = {
      kind: 'key',
      isAdmin: user?.user_role === 'proxy_admin',
      spendVisibility: spendVisibility(user, member),
      permissions: doc.permissions,
      keyHash: doc.token,
      keyAlias: doc.key_alias,
      userId: doc.user_id,
      teamId: doc.team_id,
      models: doc.models.length ? doc.models : (team?.models ?? []),
      tags: doc.tags,
      metadata: metadataStrings(doc.metadata),
    };
    return principal;
  };
}
