// Who may see which spend. The master key (and any admin principal) sees everything; any other key sees
// only the calls made with itself. The restriction is injected into every query server-side, so no
// request field can widen it — a filter naming another key simply intersects to nothing.
// Principals carry no role yet; when the management API adds team-admin keys, `scopeFor` is the one
// place that widens their scope to `teamId`.
import type { Principal } from '../auth/principal.js';
import type { AccessScope } from './build.js';

export function scopeFor(principal: Principal): AccessScope {
  if (principal.isAdmin) return {};
  return { keyHash: principal.keyHash };
}
