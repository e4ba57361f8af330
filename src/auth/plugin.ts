// `app.authenticate(request)` → Principal, or a 401 in OpenAI's shape. Resolvers are tried in order:
// master key, static config keys, then any registered by other plugins (virtual keys). A request without a
// key may be authenticated by an ambient credential (the dashboard's session cookie): its writes must then
// pass the cross-origin checks of ./crossOrigin.ts.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { assertCookieWriteAllowed } from './crossOrigin.js';
import { type KeyResolver, masterPrincipal, staticKeyResolver } from './keyStore.js';
import { extractKey, hashKey, type KeyPermission, type Principal } from './principal.js';

/**
 * Authenticates a request that carries no API key (the dashboard's session cookie). Returns null when the
 * request has no credential of its kind, so the next authenticator (or the 401) applies. The browser sends
 * such credentials by itself, so a write they authenticate must come from our own origin (crossOrigin.ts).
 */
export type RequestAuthenticator = (request: FastifyRequest) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<Principal>;
    addKeyResolver(resolver: KeyResolver): void;
    addRequestAuthenticator(authenticator: RequestAuthenticator): void;
    /** The principal a key hash stands for right now (master, config or virtual key), or null. */
    principalForKeyHash(keyHash: string): Promise<Principal | null>;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

async function authPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const master = masterPrincipal(opts.config.masterKey);
  const masterHash = Buffer.from(master.keyHash, 'hex');
  const resolvers: KeyResolver[] = [staticKeyResolver(opts.config)];
  const requestAuthenticators: RequestAuthenticator[] = [];
  app.decorate('addKeyResolver', (resolver: KeyResolver) => {
    resolvers.push(resolver);
  });
  app.decorate('addRequestAuthenticator', (authenticator: RequestAuthenticator) => {
    requestAuthenticators.push(authenticator);
  });
  const principalForKeyHash = async (keyHash: string): Promise<Principal | null> => {
    if (timingSafeEqual(Buffer.from(keyHash, 'hex'), masterHash)) return master;
    for (const resolve of resolvers) {
      const principal = await resolve(keyHash);
      if (principal) return principal;
    }
    return null;
  };
  app.decorate('principalForKeyHash', principalForKeyHash);
  app.decorate('authenticate', async (request: FastifyRequest): Promise<Principal> => {
    if (request.principal) return request.principal;
    const secret = extractKey(request.headers);
    if (!secret) {
      // A bearer key always wins; only a request without one may be authenticated by its session cookie.
      for (const authenticate of requestAuthenticators) {
        const principal = await authenticate(request);
        if (principal) {
          assertCookieWriteAllowed(request, opts.config.publicOrigin);
          request.principal = principal;
          return principal;
        }
      }
      throw new AppError('unauthorized', 'missing API key: send `Authorization: Bearer <key>`', {
        type: 'invalid_request_error',
      });
    }
    const principal = await principalForKeyHash(hashKey(secret));
    if (!principal) {
      throw new AppError('unauthorized', 'invalid API key', { type: 'invalid_request_error' });
    }
    request.principal = principal;
    return principal;
  });
}

export default fp(authPlugin, { name: 'auth' });

/** Route guard for admin-only endpoints (management API, dead letters, metrics). */
export async function requireAdmin(app: FastifyInstance, request: FastifyRequest): Promise<Principal> {
  const principal = await app.authenticate(request);
  if (!principal.isAdmin) throw new AppError('forbidden', 'this endpoint needs the master key or an admin key');
  return principal;
}

/** Route guard for an endpoint an admin or a key granted `permission` may use (e.g. `ingest`). */
export async function requirePermission(
  app: FastifyInstance,
  request: FastifyRequest,
  permission: KeyPermission,
): Promise<Principal> {
  const principal = await app.authenticate(request);
  if (!principal.isAdmin && !principal.permissions.includes(permission)) {
    throw new AppError(
      'forbidden',
      `this endpoint needs the master key, an admin key or a key with the \`${permission}\` permission`,
    );
  }
  return principal;
}
