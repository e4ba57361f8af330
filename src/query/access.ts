// Who may see which spend (the principal's `spendVisibility`, set by its role): all of it (master key,
// proxy admins and viewers), its team's (a key of one of the team's admins) or only the calls made with the
// key itself. The restriction is injected into every query server-side, so no request field can widen it —
// a filter naming another key or team simply intersects to nothing.
import type { Principal } from '../auth/principal.js';
import type { AccessScope } from './build.js';

export function scopeFor(principal: Principal): AccessScope {
  if (principal.spendVisibility === 'all') return {};
  if (principal.spendVisibility === 'team' && principal.teamId !== null) return { teamId: principal.teamId };
  return { keyHash: principal.keyHash };
}
