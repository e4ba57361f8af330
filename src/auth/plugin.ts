// `app.authenticate(request)` → Principal, or a 401 in OpenAI's shape. Resolvers are tried in order:
// master key, static config keys, then any registered by other plugins (virtual keys).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { type KeyResolver, masterPrincipal, staticKeyResolver } from './keyStore.js';
import { extractKey, hashKey, type Principal } from './principal.js';

declare module 'fastify' {
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<Principal>;
    addKeyResolver(resolver: KeyResolver): void;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

async function authPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const master = masterPrincipal(opts.config.masterKey);
  const masterHash = Buffer.from(master.keyHash, 'hex');
  const resolvers: KeyResolver[] = [staticKeyResolver(opts.config)];
  app.decorate('addKeyResolver', (resolver: KeyResolver) => {
    resolvers.push(resolver);
  });
  app.decorate('authenticate', async (request: FastifyRequest): Promise<Principal> => {
    if (request.principal) return request.principal;
    const secret = extractKey(request.headers);
    if (!secret) {
      throw new AppError('unauthorized', 'missing API key: send `Authorization: Bearer <key>`', {
        type: 'invalid_request_error',
      });
    }
    const keyHash = hashKey(secret);
    let principal: Principal | null = null;
    if (timingSafeEqual(Buffer.from(keyHash, 'hex'), masterHash)) principal = master;
    for (const resolve of resolvers) {
      if (principal) break;
      principal = await resolve(keyHash);
    }
    if (!principal) {
      throw new AppError('unauthorized', 'invalid API key', { type: 'invalid_request_error' });
    }
    request.principal = principal;
    return principal;
  });
}

export default fp(authPlugin, { name: 'auth' });

/** Route guard for admin-only endpoints (management API, ingest, metrics). */
export async function requireAdmin(app: FastifyInstance, request: FastifyRequest): Promise<Principal> {
  const principal = await app.authenticate(request);
  if (!principal.isAdmin) throw new AppError('forbidden', 'this endpoint needs the master key or an admin key');
  return principal;
}
