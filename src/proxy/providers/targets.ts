// Where a deployment's calls go and how they authenticate, per wire protocol.
import type { Deployment } from '../deployments.js';
import type { HttpTarget } from '../upstream.js';

export type OpenAIPath = 'chat/completions' | 'completions' | 'embeddings';

const ANTHROPIC_VERSION = '2023-06-01';

/** OpenAI-compatible (api_base ends in /v1 by convention) and Azure OpenAI's deployment URLs. */
export function openAITarget(d: Deployment, path: OpenAIPath): HttpTarget {
  const headers: Record<string, string> = {};
  if (d.protocol === 'azure') {
    if (d.apiKey) headers['api-key'] = d.apiKey;
    const deployment = encodeURIComponent(d.upstreamModel);
    const version = encodeURIComponent(d.apiVersion ?? '');
    return { url: `${d.apiBase}/openai/deployments/${deployment}/${path}?api-version=${version}`, headers };
  }
  if (d.apiKey) headers.authorization = `Bearer ${d.apiKey}`;
  if (d.organization) headers['openai-organization'] = d.organization;
  return { url: `${d.apiBase}/${path}`, headers };
}

/** Anthropic's api_base is the host (`https://api.anthropic.com`); a base already ending in /v1 is accepted. */
export function anthropicTarget(
  d: Deployment,
  clientHeaders: Record<string, string | string[] | undefined>,
): HttpTarget {
  const base = d.apiBase ?? '';
  const url = base.endsWith('/v1/messages') ? base : base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`;
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
  if (d.apiKey) headers['x-api-key'] = d.apiKey;
  // Anthropic SDK clients opt into beta features by header; those must reach the provider.
  for (const name of ['anthropic-version', 'anthropic-beta']) {
    const value = clientHeaders[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return { url, headers };
}
