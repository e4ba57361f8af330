// What the Files and Batches routes share: the store, the OpenAI client, the router, and who may see what.
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import type { BatchStore, ListPage } from '../../batches/store.js';
import type { BatchUpstream } from '../../batches/upstream.js';
import { checkId } from '../../batches/wire.js';
import { AppError, badRequest } from '../../errors.js';
import type { ModelRouter } from '../deployments.js';
import type { BatchReservationDeps } from './reservation.js';

export interface BatchRouteDeps {
  store: BatchStore;
  upstream: BatchUpstream;
  router: ModelRouter;
  authenticate(request: FastifyRequest): Promise<Principal>;
  /** The budget ledger and control plane; null where budgets are not enforced. */
  budgets: BatchReservationDeps | null;
}

/** Files and batches are the creating key's: admins see every key's, other keys only their own. */
export function mayAccess(principal: Principal, ownerKeyHash: string): boolean {
  return principal.isAdmin || principal.keyHash === ownerKeyHash;
}

/** A file or batch this key may not see is answered exactly like one that does not exist. */
export function notFound(what: string, id: string): AppError {
  return new AppError('not_found', `No ${what} found with id '${id}'`, { param: 'id', type: 'invalid_request_error' });
}

/** OpenAI's list paging: `after` (a cursor id) and `limit` (1–100, default 20). */
export function readPage(principal: Principal, query: unknown): ListPage {
  const q = (query ?? {}) as Record<string, unknown>;
  const after = q.after === undefined || q.after === '' ? null : checkId(q.after, 'after');
  let limit = 20;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (typeof q.limit !== 'string' || !/^\d{1,3}$/.test(q.limit) || limit < 1 || limit > 100) {
      throw badRequest('limit', 'expected an integer between 1 and 100');
    }
  }
  return { keyHash: principal.isAdmin ? null : principal.keyHash, after, limit };
}

export function listBody<T extends { id: string }>(data: T[], hasMore: boolean) {
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}
