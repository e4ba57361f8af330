// model_list → deployments. A request's `model` is a `model_name`; several entries with the same name are
// served round-robin; a `model_name` with `*` (LiteLLM wildcard routing, e.g. `openai/*` → `openai/*`)
// passes the matched part on to the upstream model.
import { ConfigError } from '../config/load.js';
import type { ModelEntry } from '../config/schema.js';
import { type EntryPricing, entryPricing } from '../models/entryPricing.js';
import { globRegex, matchesModel, wildcardSpec } from '../models/modelNames.js';
import { PROVIDERS, splitProviderModel, type WireProtocol } from '../models/providers.js';
import type { ModelPricing } from '../pricing/modelPricing.js';
import { type AwsSettings, bedrockApiBase, resolveAwsSettings } from './providers/bedrock.js';

const DEFAULT_TIMEOUT_SECONDS = 600;
const DEFAULT_AZURE_API_VERSION = '2024-10-21';

export interface Deployment {
  modelName: string;
  provider: string;
  protocol: WireProtocol;
  upstreamModel: string;
  apiBase: string | null;
  apiKey: string | null;
  apiVersion: string | null;
  organization: string | null;
  /** Bedrock's region and credentials (litellm_params `aws_*`, else the AWS environment); null elsewhere. */
  aws: AwsSettings | null;
  timeoutMs: number;
  /** Longest silence allowed between two stream chunks. */
  streamTimeoutMs: number;
  /** LiteLLM's `litellm_params.mock_response`: answer this text without calling the provider. */
  mockResponse: string | null;
  maxOutputTokens: number | null;
  pricing: ModelPricing;
}

export interface RouterSettings {
  /** litellm_settings.request_timeout (seconds). */
  requestTimeoutSeconds?: number;
}

function buildDeployment(entry: ModelEntry, upstreamSpec: string, settings: RouterSettings, path: string): Deployment {
  const params = entry.litellm_params;
  const info = entry.model_info ?? {};
  const { provider, upstreamModel } = splitProviderModel(upstreamSpec);
  const known = PROVIDERS[provider];
  if (!known) throw new ConfigError('config', [`${path}.model: unknown provider ${provider}`]);
  const aws = known.protocol === 'bedrock' ? awsSettingsOf(params, path) : null;
  const apiBase = params.api_base ?? known.apiBase ?? (aws ? bedrockApiBase(aws.region) : null);
  if (!apiBase && known.protocol !== 'mock') {
    throw new ConfigError('config', [`${path}.api_base: required for provider ${provider}`]);
  }
  const timeoutSeconds = params.timeout ?? settings.requestTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  return {
    modelName: entry.model_name,
    provider,
    protocol: known.protocol,
    upstreamModel,
    apiBase: apiBase?.replace(/\/+$/, '') ?? null,
    apiKey: params.api_key ?? null,
    apiVersion: params.api_version ?? (known.protocol === 'azure' ? DEFAULT_AZURE_API_VERSION : null),
    organization: params.organization ?? null,
    aws,
    timeoutMs: timeoutSeconds * 1000,
    streamTimeoutMs: (params.stream_timeout ?? timeoutSeconds) * 1000,
    mockResponse: params.mock_response ?? null,
    maxOutputTokens: info.max_output_tokens ?? info.max_tokens ?? null,
    // Known provider checked above, so the entry has a price book (possibly `unpriced`).
    pricing: (entryPricing(entry, upstreamSpec) as EntryPricing).pricing,
  };
}

function awsSettingsOf(params: ModelEntry['litellm_params'], path: string): AwsSettings {
  const settings = resolveAwsSettings(params);
  if ('missing' in settings) {
    throw new ConfigError(
      'config',
      settings.missing.map((field) => `${path}.${field}: required for provider bedrock`),
    );
  }
  return settings;
}

interface WildcardRoute {
  pattern: RegExp;
  entry: ModelEntry;
  path: string;
}

const MAX_WILDCARD_CACHE = 1000;

export class ModelRouter {
  private readonly exact = new Map<string, Deployment[]>();
  private readonly wildcards: WildcardRoute[] = [];
  private readonly wildcardCache = new Map<string, Deployment>();
  private turn = 0;

  constructor(
    models: ModelEntry[],
    private readonly settings: RouterSettings = {},
  ) {
    models.forEach((entry, i) => {
      const path = `model_list[${i}].litellm_params`;
      if (entry.model_name.includes('*')) {
        this.wildcards.push({ pattern: globRegex(entry.model_name), entry, path });
        // Validates provider and api_base at boot, like exact entries.
        buildDeployment(entry, entry.litellm_params.model.replaceAll('*', 'x'), settings, path);
        return;
      }
      const list = this.exact.get(entry.model_name) ?? [];
      list.push(buildDeployment(entry, entry.litellm_params.model, settings, path));
      this.exact.set(entry.model_name, list);
    });
  }

  /** The deployment serving a requested model, or null when model_list has no such name. */
  resolve(model: string): Deployment | null {
    const list = this.exact.get(model);
    if (list?.length) return list[this.turn++ % list.length] ?? null;
    const cached = this.wildcardCache.get(model);
    if (cached) return cached;
    for (const route of this.wildcards) {
      const match = route.pattern.exec(model);
      if (!match) continue;
      const spec = wildcardSpec(route.entry.litellm_params.model, match);
      const deployment = { ...buildDeployment(route.entry, spec, this.settings, route.path), modelName: model };
      if (this.wildcardCache.size >= MAX_WILDCARD_CACHE) this.wildcardCache.clear();
      this.wildcardCache.set(model, deployment);
      return deployment;
    }
    return null;
  }

  /** Model names for GET /v1/models: exact names, then wildcard patterns as written. */
  listNames(): { name: string; provider: string }[] {
    const exact = [...this.exact.entries()].map(([name, list]) => ({ name, provider: list[0]?.provider ?? '' }));
    const wild = this.wildcards.map((w) => ({
      name: w.entry.model_name,
      provider: splitProviderModel(w.entry.litellm_params.model).provider,
    }));
    return [...exact, ...wild];
  }
}

/** LiteLLM's name for "every model on this proxy" in a key's or team's `models`. */
const ALL_MODELS = 'all-proxy-models';

/** A key's `models` list (empty = every model) may hold exact names, `*` globs or `all-proxy-models`. */
export function keyMayUse(allowed: readonly string[], model: string): boolean {
  return allowed.length === 0 || allowed.some((pattern) => pattern === ALL_MODELS || matchesModel(pattern, model));
}
