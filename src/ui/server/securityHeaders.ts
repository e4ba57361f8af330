// Response headers of every dashboard page, asset and /ui/api answer. The bundle (scripts/build-ui.mjs) is one
// external module script and one stylesheet, with no inline <script> or <style>: Preact and uPlot set styles
// through the CSSOM (element.style), which a CSP without 'unsafe-inline' allows; the favicon is a data: URL.
// So the policy allows our own origin only, and no page may frame the dashboard (clickjacking).
import type { FastifyReply } from 'fastify';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** HTML names the current hashed assets, so browsers must revalidate it on every visit (ETag → 304). */
export const HTML_CACHE_CONTROL = 'no-cache';

/** index.html and its precompressed twins (index.html.br, index.html.gz) that @fastify/static may send. */
export function isHtmlFile(path: string): boolean {
  return /\.html(\.(br|gz))?$/.test(path);
}

export function setDashboardSecurityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers({
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    // Dashboard URLs carry filters (tags, key aliases): other sites are not told them.
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
  });
}
