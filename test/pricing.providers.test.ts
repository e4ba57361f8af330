// Real usage payloads, in each provider's documented shape, priced to the exact nano-USD worked out by hand
// from the published prices (genai-prices@0.1.8's bundled catalog, USD per million tokens unless noted).
// Then each LiteLLM cost bug named in issue 19, as a regression test asserting the exact cost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelPricing, type PriceConfig } from '../src/pricing/modelPricing.js';
import { type PriceCallOptions, priceCall } from '../src/pricing/priceCall.js';
import { type TokenUsage, usageFromAnthropic, usageFromOpenAI } from '../src/pricing/usage.js';
import { usageFromBedrock } from '../src/proxy/translate/bedrockToChat.js';
import { usageFromGemini } from '../src/proxy/translate/geminiToChat.js';
import { usageFromResponse } from '../src/proxy/translate/responsesUsage.js';

const AT = new Date('2026-12-07T12:00:00Z');

function price(
  model: string,
  providerId: string,
  usage: TokenUsage | null,
  options: PriceCallOptions = {},
  config: PriceConfig = {},
) {
  assert.ok(usage, 'the reader found the usage');
  const entry = modelPricing({ name: model, model, providerId, useCatalog: true, config }).at(AT);
  assert.ok(entry, `${model} is priced`);
  return priceCall(entry, usage, options);
}

test('OpenAI chat (o4-mini) with cached and reasoning tokens', () => {
  // Chat Completions usage (platform.openai.com/docs/guides/prompt-caching, /docs/guides/reasoning).
  const body = {
    object: 'chat.completion',
    service_tier: 'default',
    usage: {
      prompt_tokens: 2006,
      completion_tokens: 1844,
      total_tokens: 3850,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 1792,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  };
  const usage = usageFromOpenAI(body.usage, body.service_tier);
  // o4-mini: input 1.10, cached input 0.275, output 4.40 (reasoning tokens are output tokens).
  //   86 × 1.10 + 1920 × 0.275 + 1844 × 4.40 = 94.6 + 528 + 8113.6 = 8736.2 µUSD
  const priced = price('o4-mini', 'openai', usage);
  assert.equal(priced.cost_nano, 8_736_200);
  assert.equal(usage?.serviceTier, 'default');
  assert.deepEqual(priced.unit_prices, {
    input: '0.0000011',
    cache_read: '0.000000275',
    output: '0.0000044',
    reasoning: '0.0000044',
    multiplier: '1',
  });
  assert.equal(priced.price_source, 'catalog');
  assert.match(priced.price_version, /^genai-prices@/);
});

test('OpenAI Responses (o3) with reasoning, and a web search billed per call', () => {
  // A Response object (platform.openai.com/docs/api-reference/responses/object).
  const reasoning = {
    object: 'response',
    service_tier: 'default',
    output: [
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'message', id: 'msg_1', content: [] },
    ],
    usage: {
      input_tokens: 75,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 1186,
      output_tokens_details: { reasoning_tokens: 1024 },
      total_tokens: 1261,
    },
  };
  // o3: input 2, output 8.  75 × 2 + 1186 × 8 = 150 + 9488 = 9638 µUSD
  assert.equal(price('o3', 'openai', usageFromResponse(reasoning)).cost_nano, 9_638_000);
  const searched = {
    object: 'response',
    output: [
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      { type: 'message', id: 'msg_2', content: [] },
    ],
    usage: {
      input_tokens: 300,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 120,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 420,
    },
  };
  const usage = usageFromResponse(searched);
  assert.equal(usage?.webSearchRequests, 1);
  // gpt-4o: input 2.5, output 10, web search $10 per thousand calls.
  //   300 × 2.5 + 120 × 10 = 1950 µUSD, + 1 × 0.01 USD = 11 950 µUSD
  const priced = price('gpt-4o', 'openai', usage);
  assert.equal(priced.cost_nano, 11_950_000);
  assert.equal(priced.unit_prices.web_search, '0.01');
});

test('Anthropic Messages with 5-minute and 1-hour cache writes', () => {
  // docs.anthropic.com/en/docs/build-with-claude/prompt-caching (1-hour cache duration, usage example).
  const usage = usageFromAnthropic({
    input_tokens: 2048,
    cache_read_input_tokens: 1800,
    cache_creation_input_tokens: 248,
    output_tokens: 503,
    cache_creation: { ephemeral_1h_input_tokens: 100, ephemeral_5m_input_tokens: 148 },
    service_tier: 'standard',
  });
  assert.deepEqual(
    [usage?.promptTokens, usage?.cachedTokens, usage?.cacheWriteTokens, usage?.cacheWrite1hTokens, usage?.serviceTier],
    [4096, 1800, 248, 100, 'standard'],
  );
  // Claude Sonnet 4: input 3, cache read 0.30, 5-minute write 3.75, 1-hour write 6, output 15.
  //   2048 × 3 + 1800 × 0.3 + 148 × 3.75 + 100 × 6 + 503 × 15 = 6144 + 540 + 555 + 600 + 7545 = 15 384 µUSD
  const priced = price('claude-sonnet-4-20250514', 'anthropic', usage);
  assert.equal(priced.cost_nano, 15_384_000);
  assert.equal(priced.unit_prices.cache_write_5m, '0.00000375');
  assert.equal(priced.unit_prices.cache_write_1h, '0.000006');
});

test('Gemini with thoughts', () => {
  // ai.google.dev/api/generate-content#UsageMetadata: candidatesTokenCount excludes thoughtsTokenCount.
  const usage = usageFromGemini({
    promptTokenCount: 10,
    candidatesTokenCount: 428,
    thoughtsTokenCount: 1146,
    totalTokenCount: 1584,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }],
  });
  // Gemini 2.5 Flash: input 0.30, output (thinking included) 2.50.  10 × 0.3 + 1574 × 2.5 = 3 + 3935 = 3938 µUSD
  assert.equal(price('gemini-2.5-flash', 'google', usage).cost_nano, 3_938_000);
});

test('OpenRouter answer with usage.cost: the provider’s cost is billed, the price book’s kept beside it', () => {
  // openrouter.ai/docs/use-cases/usage-accounting (response format example).
  const body = {
    object: 'chat.completion.chunk',
    usage: {
      completion_tokens: 2,
      completion_tokens_details: { reasoning_tokens: 0 },
      cost: 0.95,
      cost_details: { upstream_inference_cost: 19 },
      prompt_tokens: 194,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 100, audio_tokens: 0 },
      total_tokens: 196,
    },
  };
  const usage = usageFromOpenAI(body.usage);
  // List (anthropic/claude-sonnet-4 on OpenRouter): 94 × 3 + 100 × 3.75 + 2 × 15 = 282 + 375 + 30 = 687 µUSD.
  const billed = price('anthropic/claude-sonnet-4', 'openrouter', usage);
  assert.deepEqual(
    [billed.cost_nano, billed.provider_cost_nano, billed.list_cost_nano, billed.price_source],
    [950_000_000, 950_000_000, 687_000, 'provider'],
  );
  const ours = price('anthropic/claude-sonnet-4', 'openrouter', usage, { billProviderCost: false });
  assert.deepEqual([ours.cost_nano, ours.provider_cost_nano, ours.price_source], [687_000, 950_000_000, 'catalog']);
  // The deployment's multiplier applies to the provider's cost too: 0.95 × 0.9 = 0.855 USD.
  const discounted = price('anthropic/claude-sonnet-4', 'openrouter', usage, {}, { discount: 0.1 });
  assert.equal(discounted.cost_nano, 855_000_000);
});

test('embeddings: input tokens only', () => {
  // text-embedding-3-small: 0.02 per million.  8 × 0.02 = 0.16 µUSD = 160 nano-USD
  const usage = usageFromOpenAI({ prompt_tokens: 8, total_tokens: 8 });
  assert.equal(price('text-embedding-3-small', 'openai', usage).cost_nano, 160);
});

test('litellm #5443 / #11364: Anthropic cache writes priced at the cache-write rate, once', () => {
  const usage = usageFromAnthropic({
    input_tokens: 25,
    cache_creation_input_tokens: 10_000,
    cache_read_input_tokens: 0,
    output_tokens: 200,
  });
  // Claude 3.5 Sonnet: 25 × 3 + 10 000 × 3.75 + 200 × 15 = 75 + 37 500 + 3000 = 40 575 µUSD
  assert.equal(price('claude-3-5-sonnet-20241022', 'anthropic', usage).cost_nano, 40_575_000);
});

test('litellm #33772: OpenAI cache writes (prompt_tokens_details.cache_write_tokens) are not dropped, long-context tier included', () => {
  const usage = usageFromOpenAI({
    prompt_tokens: 300_000,
    completion_tokens: 2000,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 250_000 },
  });
  // gpt-6-sol above 272k input tokens: input 4, cache write 5, output 15.
  //   50 000 × 4 + 250 000 × 5 + 2000 × 15 = 200 000 + 1 250 000 + 30 000 µUSD = 1.48 USD
  assert.equal(price('gpt-6-sol', 'openai', usage).cost_nano, 1_480_000_000);
});

test('litellm #34801: cache reads counted in full at the cache-read rate', () => {
  const usage = usageFromOpenAI({
    prompt_tokens: 10_000,
    completion_tokens: 100,
    prompt_tokens_details: { cached_tokens: 9000 },
  });
  // gpt-4o: 1000 × 2.5 + 9000 × 1.25 + 100 × 10 = 2500 + 11 250 + 1000 = 14 750 µUSD
  assert.equal(price('gpt-4o', 'openai', usage).cost_nano, 14_750_000);
});

test('litellm #11935: Claude Code through Vertex priced with its cache reads and writes', () => {
  // A Claude Code turn: almost everything is a cache read.
  const usage = usageFromAnthropic({
    input_tokens: 3,
    cache_read_input_tokens: 45_000,
    cache_creation_input_tokens: 1500,
    output_tokens: 400,
  });
  // Claude Sonnet 4.5 on Vertex (under 200k): 3 × 3 + 45 000 × 0.3 + 1500 × 3.75 + 400 × 15 = 9 + 13 500 + 5625 + 6000 = 25 134 µUSD
  assert.equal(price('claude-sonnet-4-5', 'google-vertex', usage).cost_nano, 25_134_000);
});

test('litellm PR #38341: batch cached tokens at half the cache-read price, not at the batch input rate', () => {
  const usage = usageFromOpenAI({
    prompt_tokens: 10_000,
    completion_tokens: 1000,
    prompt_tokens_details: { cached_tokens: 8000 },
  });
  // gpt-4o Batch = half of every token price: 2000 × 1.25 + 8000 × 0.625 + 1000 × 5 = 2500 + 5000 + 5000 = 12 500 µUSD
  // (billing all 10 000 prompt tokens at the batch input rate 1.25 would be 12 500 + 5000 = 17 500 µUSD).
  const priced = price('gpt-4o', 'openai', usage, { serviceTier: 'batch' });
  assert.equal(priced.cost_nano, 12_500_000);
  assert.equal(priced.unit_prices.cache_read, '0.000000625');
});

test('litellm #10013: image output tokens priced at the image rate, never $0', () => {
  const native = usageFromGemini({
    promptTokenCount: 12,
    candidatesTokenCount: 1290,
    totalTokenCount: 1302,
    candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
  });
  // Gemini 2.5 Flash Image: input 0.30, image output 30.  12 × 0.3 + 1290 × 30 = 3.6 + 38 700 = 38 703.6 µUSD
  assert.equal(price('gemini-2.5-flash-image', 'google', native).cost_nano, 38_703_600);
  // The same answer through an OpenAI-compatible gateway (completion_tokens_details.image_tokens).
  const compatible = usageFromOpenAI({
    prompt_tokens: 12,
    completion_tokens: 1290,
    completion_tokens_details: { image_tokens: 1290 },
  });
  assert.equal(price('gemini-2.5-flash-image', 'google', compatible).cost_nano, 38_703_600);
});

test('litellm #12313: Bedrock cache tokens counted once (Converse inputTokens excludes them)', () => {
  const usage = usageFromBedrock({
    inputTokens: 12,
    outputTokens: 350,
    cacheReadInputTokens: 20_000,
    cacheWriteInputTokens: 3000,
    totalTokens: 23_362,
  });
  assert.equal(usage?.promptTokens, 23_012);
  // Claude Sonnet 4 on Bedrock: 12 × 3 + 20 000 × 0.3 + 3000 × 3.75 + 350 × 15 = 36 + 6000 + 11 250 + 5250 = 22 536 µUSD
  // (pricing every prompt token at input and the cache tokens again at their rates would be ~3× this).
  assert.equal(price('anthropic.claude-sonnet-4-20250514-v1:0', 'aws', usage).cost_nano, 22_536_000);
});

test('audio in and out at their own config prices', () => {
  const usage = usageFromOpenAI({
    prompt_tokens: 1000,
    completion_tokens: 500,
    prompt_tokens_details: { audio_tokens: 800 },
    completion_tokens_details: { audio_tokens: 400 },
  });
  const config: PriceConfig = {
    input_cost_per_token: 0.0000025,
    output_cost_per_token: 0.00001,
    input_cost_per_audio_token: 0.00004,
    output_cost_per_audio_token: 0.00008,
  };
  const entry = modelPricing({ name: 'voice', model: 'voice', useCatalog: false, config }).at(AT);
  // 200 × 2.5 + 800 × 40 + 100 × 10 + 400 × 80 = 500 + 32 000 + 1000 + 32 000 = 65 500 µUSD
  assert.equal(priceCall(entry, usage ?? assert.fail()).cost_nano, 65_500_000);
});
