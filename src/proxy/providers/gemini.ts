// Where a Gemini deployment's calls go: the Generative Language API (`api_base` defaults to
// https://generativelanguage.googleapis.com/v1beta; a base without a version path, as @google/genai's
// `baseUrl` is written, gets `/v1beta`), `models/{model}:generateContent` for JSON answers and
// `:streamGenerateContent?alt=sse` for server-sent events, authenticated by the `x-goog-api-key` header.
import { GEMINI_API_BASE } from '../../models/providers.js';
import type { Deployment } from '../deployments.js';
import type { HttpTarget } from '../upstream.js';

export function geminiTarget(d: Deployment, stream: boolean): HttpTarget {
  const model = encodeURIComponent(d.upstreamModel.replace(/^models\//, ''));
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const headers: Record<string, string> = {};
  if (d.apiKey) headers['x-goog-api-key'] = d.apiKey;
  const base = d.apiBase ?? GEMINI_API_BASE;
  const versioned = /\/v1(?:alpha|beta)?$/.test(base) ? base : `${base}/v1beta`;
  return { url: `${versioned}/models/${model}:${method}`, headers };
}
