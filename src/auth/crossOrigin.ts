// Cross-site request forgery defence for what the dashboard's session cookie authenticates. SameSite=Strict
// stops other *sites*, but a sibling port or subdomain is the same site (http://host:8080 → http://host:4000),
// and a form POST needs no JavaScript. So a write (POST/PUT/PATCH/DELETE) authenticated by the cookie must
//   1. come from the dashboard's own origin: `Sec-Fetch-Site: same-origin` (set by the browser, pages cannot
//      forge it), else an Origin — or, without one, a Referer — whose host is the Host header the request
//      was sent to, or the configured public URL (server.public_url, for proxies that rewrite Host);
//   2. carry a JSON body (`Content-Type: application/json`), which a cross-origin page can only send after a
//      CORS preflight that this server never grants — HTML forms cannot send it at all.
// Requests authenticated by a bearer key (SDKs, curl, scripts) never reach this: no cookie, no ambient authority.
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isStateChanging = (method: string): boolean => !SAFE_METHODS.has(method.toUpperCase());

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

function headerValue(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim() || null;
}

/** What the browser says the request came from: the Origin, else the Referer (`null` stays `null`). */
function claimedSource(request: FastifyRequest): string | null {
  const origin = headerValue(request, 'origin');
  if (origin && origin !== 'null') return origin;
  return headerValue(request, 'referer') ?? origin;
}

function parsedOrigin(source: string): URL | null {
  try {
    const url = new URL(source);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** Does `source` name this server: its Host header (either port form) or the configured public origin? */
function isOwnOrigin(source: string, request: FastifyRequest, publicOrigin: string | null): boolean {
  const claimed = parsedOrigin(source);
  if (!claimed) return false;
  if (publicOrigin && claimed.origin === publicOrigin) return true;
  const host = headerValue(request, 'host')?.toLowerCase();
  if (!host) return false;
  // Scheme is not compared: behind a TLS-terminating proxy the app sees http while the browser says https.
  const withPort = claimed.port ? claimed.host : `${claimed.hostname}:${DEFAULT_PORTS[claimed.protocol]}`;
  return host === claimed.host || host === withPort;
}

export interface OriginCheckOptions {
  publicOrigin: string | null;
  /**
   * true for cookie-authenticated writes: the request must prove its origin. false for login/logout forms that
   * carry no session yet: only evident cross-origin requests are refused (scripts may log in without headers).
   */
  requireProof: boolean;
}

/** Throws 403 when the request is not from the dashboard's own origin (see the header comment). */
export function assertSameOrigin(request: FastifyRequest, opts: OriginCheckOptions): void {
  const fetchSite = headerValue(request, 'sec-fetch-site');
  if (fetchSite === 'same-origin') return;
  if (fetchSite && fetchSite !== 'none') {
    throw new AppError('forbidden', `cross-origin request refused (Sec-Fetch-Site: ${fetchSite})`, {
      param: 'origin',
    });
  }
  const claimed = claimedSource(request);
  if (!claimed) {
    if (!opts.requireProof) return;
    throw new AppError(
      'forbidden',
      'a request authenticated by the dashboard session must send its Origin (or use an API key: Authorization: Bearer)',
      { param: 'origin' },
    );
  }
  if (!isOwnOrigin(claimed, request, opts.publicOrigin)) {
    const shown = parsedOrigin(claimed)?.origin ?? 'null';
    throw new AppError(
      'forbidden',
      `cross-origin request refused: origin ${shown} is not this server (behind a proxy that rewrites Host, set server.public_url)`,
      { param: 'origin' },
    );
  }
}

/** 415 unless a request that has a body labels it application/json (HTML forms cannot). */
export function assertJsonBody(request: FastifyRequest): void {
  const length = headerValue(request, 'content-length');
  const hasBody = (length !== null && length !== '0') || headerValue(request, 'transfer-encoding') !== null;
  if (!hasBody) return;
  const type = headerValue(request, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return;
  throw new AppError(
    'unsupported_media_type',
    `requests authenticated by the dashboard session must send Content-Type: application/json (got ${type ?? 'none'})`,
    { param: 'content-type' },
  );
}

/** Both checks, for a write authenticated by the session cookie. */
export function assertCookieWriteAllowed(request: FastifyRequest, publicOrigin: string | null): void {
  if (!isStateChanging(request.method)) return;
  assertSameOrigin(request, { publicOrigin, requireProof: true });
  assertJsonBody(request);
}
