// Providers by LiteLLM model prefix (`groq/llama-3.1-8b-instant`). Most speak the OpenAI wire format; Azure
// differs only in URL shape and auth header; Anthropic, Gemini (generateContent) and Bedrock (Converse,
// SigV4-signed) have their own. `pricesId` is the provider id in genai-prices (`google` for Gemini, `aws` for
// Bedrock); self-hosted providers have none (a model name there says nothing about its price).
/** Gemini's Generative Language API (a Gemini deployment's default api_base). */
export const GEMINI_API_BASE = 'https://generativelanguage.googleapis.com/v1beta';

export type WireProtocol = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'bedrock' | 'mock';

export interface ProviderInfo {
  protocol: WireProtocol;
  /** Default api_base; absent means the deployment must set one. */
  apiBase?: string;
  pricesId?: string;
  /** Look the model up in the price catalog at all. */
  priced: boolean;
}

const openai = (apiBase: string | undefined, pricesId: string | undefined): ProviderInfo => ({
  protocol: 'openai',
  apiBase,
  pricesId,
  priced: pricesId !== undefined,
});

export const PROVIDERS: Record<string, ProviderInfo> = {
  openai: openai('https://api.openai.com/v1', 'openai'),
  'text-completion-openai': openai('https://api.openai.com/v1', 'openai'),
  azure: { protocol: 'azure', pricesId: 'azure', priced: true },
  anthropic: { protocol: 'anthropic', apiBase: 'https://api.anthropic.com', pricesId: 'anthropic', priced: true },
  gemini: { protocol: 'gemini', apiBase: GEMINI_API_BASE, pricesId: 'google', priced: true },
  // The default api_base is regional (https://bedrock-runtime.{region}.amazonaws.com): see deployments.ts.
  bedrock: { protocol: 'bedrock', pricesId: 'aws', priced: true },
  // Prices by model id across all providers, so `npm start`'s demo shows realistic costs.
  mock: { protocol: 'mock', priced: true },
  groq: openai('https://api.groq.com/openai/v1', 'groq'),
  together_ai: openai('https://api.together.xyz/v1', 'together'),
  openrouter: openai('https://openrouter.ai/api/v1', 'openrouter'),
  deepseek: openai('https://api.deepseek.com/v1', 'deepseek'),
  mistral: openai('https://api.mistral.ai/v1', 'mistral'),
  fireworks_ai: openai('https://api.fireworks.ai/inference/v1', 'fireworks'),
  xai: openai('https://api.x.ai/v1', 'x-ai'),
  perplexity: openai('https://api.perplexity.ai', 'perplexity'),
  cerebras: openai('https://api.cerebras.ai/v1', 'cerebras'),
  ollama: openai('http://localhost:11434/v1', undefined),
  ollama_chat: openai('http://localhost:11434/v1', undefined),
  lm_studio: openai('http://localhost:1234/v1', undefined),
  hosted_vllm: openai(undefined, undefined),
  vllm: openai(undefined, undefined),
  openai_like: openai(undefined, undefined),
  custom_openai: openai(undefined, undefined),
};

/** `anthropic/claude-3-5-sonnet` → provider `anthropic`, model `claude-3-5-sonnet`; no prefix means OpenAI. */
export function splitProviderModel(model: string): { provider: string; upstreamModel: string } {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const prefix = model.slice(0, slash);
    if (prefix in PROVIDERS) return { provider: prefix, upstreamModel: model.slice(slash + 1) };
  }
  return { provider: 'openai', upstreamModel: model };
}
