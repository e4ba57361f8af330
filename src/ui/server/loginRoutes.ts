// Dashboard login, logout and "who am I". Credentials: UI_USERNAME / UI_PASSWORD (the password defaults to
// the master key, as in LiteLLM) for an admin session, or any virtual key pasted as the password for a
// session scoped to that key. Attempts are throttled per client address and per account (./loginThrottle.ts);
// login and logout refuse evident cross-origin requests (src/auth/crossOrigin.ts).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { assertCookieWriteAllowed, assertSameOrigin } from '../../auth/crossOrigin.js';
import { hashKey, type Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/load.js';
import { AppError } from '../../errors.js';
import { type LoginAdmission, LoginThrottle } from './loginThrottle.js';
import { SESSION_COOKIE, SESSION_TTL_SECONDS, type Session, SessionStore } from './sessions.js';

const loginBodySchema = z.strictObject({
  username: z.string().max(200).default(''),
  password: z.string().min(1, 'enter a password or a virtual key').max(500),
});

function sameSecret(a: string, b: string): boolean {
  // Compare digests so neither the length nor the content of the configured password leaks through timing.
  return timingSafeEqual(Buffer.from(hashKey(a), 'hex'), Buffer.from(hashKey(b), 'hex'));
}

function sessionCookieOptions(request: FastifyRequest) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
    maxAge: SESSION_TTL_SECONDS,
  };
}

function tooManyAttempts(refusal: Extract<LoginAdmission, { admitted: false }>): AppError {
  const seconds = Math.ceil(refusal.retryAfterMs / 1000);
  const wait = seconds >= 120 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} second${seconds === 1 ? '' : 's'}`;
  const who = refusal.by === 'ip' ? 'from your address' : 'for this account';
  return new AppError('rate_limit_exceeded', `too many failed logins ${who}: try again in ${wait}`, {
    headers: { 'retry-after': String(seconds) },
  });
}

export interface SessionInfo {
  username: string;
  isAdmin: boolean;
  keyAlias: string | null;
  /** The logged-in key's hash (key logins only), so the dashboard can name it in breakdowns. */
  keyHash: string | null;
  userId: string | null;
  teamId: string | null;
  /** Raw log retention (`spend_logs_max_age`), shown on the Logs tab; null = kept until dropped by hand. */
  logRetention: string | null;
  storePrompts: boolean;
}

export default async function loginRoutes(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { config } = opts;
  const sessions = new SessionStore(app.redis);
  const throttle = new LoginThrottle(app.redis);
  const masterHash = hashKey(config.masterKey);

  const sessionIdOf = (request: FastifyRequest): string | null => {
    const header = request.headers.cookie;
    if (!header) return null;
    // parseCookie comes from @fastify/cookie, registered by the dashboard plugin around these routes.
    return app.parseCookie(header)[SESSION_COOKIE] ?? null;
  };

  // Every API route (query, management, logs) calls app.authenticate; without a bearer key this resolves
  // the dashboard's cookie. SameSite=Strict keeps other sites from riding on it.
  app.addRequestAuthenticator(async (request): Promise<Principal | null> => {
    const id = sessionIdOf(request);
    const session = id ? await sessions.get(id) : null;
    if (!session) return null;
    return app.principalForKeyHash(session.kind === 'admin' ? masterHash : session.keyHash);
  });

  app.post('/api/login', async (request, reply: FastifyReply) => {
    // Login CSRF (a page logging the browser into the attacker's key session) is refused like any other.
    assertSameOrigin(request, { publicOrigin: config.publicOrigin, requireProof: false });
    const body = loginBodySchema.parse(request.body ?? {});
    const username = body.username.trim();
    // Charged before the password is compared; a success gives it back (loginThrottle.ts).
    const admission = await throttle.admit(username, request.ip);
    if (!admission.admitted) throw tooManyAttempts(admission);
    let session: Session | null = null;
    if (username === config.uiUsername && sameSecret(body.password, config.uiPassword)) {
      session = { kind: 'admin', username, createdAt: Date.now() };
    } else {
      // Only the master key itself makes an admin session. Any virtual key — a proxy_admin user's too — stays a
      // key session, resolved again on every request, so blocking, deleting or demoting it applies at once.
      const principal = await app.principalForKeyHash(hashKey(body.password));
      if (principal?.kind === 'master')
        session = { kind: 'admin', username: principal.keyAlias ?? 'admin', createdAt: Date.now() };
      else if (principal) session = { kind: 'key', keyHash: principal.keyHash, createdAt: Date.now() };
    }
    if (!session) {
      throw new AppError('unauthorized', 'wrong username or password (or not a valid virtual key)', {
        param: 'password',
      });
    }
    await throttle.succeeded(username, request.ip);
    const id = await sessions.create(session);
    reply.setCookie(SESSION_COOKIE, id, sessionCookieOptions(request));
    return { ok: true };
  });

  app.post('/api/logout', async (request, reply) => {
    const id = sessionIdOf(request);
    if (id) {
      assertCookieWriteAllowed(request, config.publicOrigin);
      await sessions.destroy(id);
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/session', async (request): Promise<SessionInfo> => {
    const principal = await app.authenticate(request);
    return {
      username:
        principal.kind === 'master'
          ? config.uiUsername
          : (principal.keyAlias ?? `key ${principal.keyHash.slice(0, 8)}`),
      isAdmin: principal.isAdmin,
      keyAlias: principal.keyAlias,
      keyHash: principal.kind === 'master' ? null : principal.keyHash,
      userId: principal.userId,
      teamId: principal.teamId,
      logRetention: config.spendLogsMaxAge,
      storePrompts: config.storePrompts,
    };
  });
}
