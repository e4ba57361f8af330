// Pure pieces of the proxy, no servers: exact decimal pricing, price sheets (genai-prices and config),
// worst cases, truncation at max_tokens, UUIDv7 ids, the SSE parser, model routing and the chat → Anthropic request translation edge cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimalFromNumber, nanoUsd, perUnitOf } from '../src/pricing/decimal.js';
import { costNano, modelPricing, worstCaseCostNano } from '../src/pricing/modelPricing.js';
import { ZERO_USAGE } from '../src/pricing/usage.js';
import { readOutputBound } from '../src/proxy/call/requestBounds.js';
import { keyMayUse, ModelRouter } from '../src/proxy/deployments.js';
import { uuidv7 } from '../src/proxy/requestId.js';
import { SseParser } from '../src/proxy/sse.js';
import { countPromptTokens, countTextTokens, truncateToTokens } from '../src/proxy/tokens.js';
import { chatToMessagesRequest } from '../src/proxy/translate/chatToMessages.js';

const usage = (promptTokens: number, completionTokens: number, extra = {}) => ({
  ...ZERO_USAGE,
  promptTokens,
  completionTokens,
  ...extra,
});

test('decimal prices are exact where binary floats are not', () => {
  assert.deepEqual(decimalFromNumber(0.000001), { units: 1n, scale: 6 });
  assert.deepEqual(decimalFromNumber(1e-7), { units: 1n, scale: 7 });
  assert.deepEqual(decimalFromNumber(2.5e-7), { units: 25n, scale: 8 });
  assert.deepEqual(decimalFromNumber(1e21), { units: 10n ** 21n, scale: 0 });
  // gpt-4o-mini, 900 input + 100 cached + 500 output tokens summed in floats is 0.00044249999999999997.
  assert.notEqual((0.15 * 900) / 1e6 + (0.075 * 100) / 1e6 + (0.6 * 500) / 1e6, 0.0004425);
  const perMillion = (usd: number) => perUnitOf(decimalFromNumber(usd), 6);
  const terms = [
    { quantity: 900, price: perMillion(0.15) },
    { quantity: 100, price: perMillion(0.075) },
    { quantity: 500, price: perMillion(0.6) },
  ];
  assert.equal(nanoUsd(terms), 442_500);
  // Half a nano-USD rounds up, once, after the exact sum.
  assert.equal(nanoUsd([{ quantity: 1, price: decimalFromNumber(0.0000000005) }]), 1);
  assert.equal(nanoUsd([{ quantity: 3, price: decimalFromNumber(0.0000000002) }]), 1);
  assert.throws(() => decimalFromNumber(-1), RangeError);
});

test('genai-prices sheet: cache reads, cache writes and reasoning priced apart, fallbacks to input/output', () => {
  const mini = modelPricing({ model: 'gpt-4o-mini', providerId: 'openai', useCatalog: true, config: {} });
  assert.equal(mini.status, 'priced');
  // 0.15 input, 0.075 cached input, 0.6 output per million.
  assert.equal(costNano(mini.sheetAt(new Date()), usage(1000, 500, { cachedTokens: 100 })), 442_500);
  const claude = modelPricing({
    model: 'claude-3-5-sonnet-20241022',
    providerId: 'anthropic',
    useCatalog: true,
    config: {},
  });
  assert.equal(costNano(claude.sheetAt(new Date()), usage(1000, 0, { cacheWriteTokens: 1000 })), 3_750_000);
  const unknown = modelPricing({ model: 'house-llama', providerId: 'openai', useCatalog: true, config: {} });
  assert.deepEqual([unknown.status, unknown.sheetAt(new Date())], ['unpriced', null]);
  assert.equal(costNano(null, usage(1000, 1000)), 0);
});

test('config prices override per component and make the status custom', () => {
  const partial = modelPricing({
    model: 'gpt-4o',
    providerId: 'openai',
    useCatalog: true,
    config: { output_cost_per_token: 0.00002 },
  });
  assert.equal(partial.status, 'custom');
  // Input from the catalog (2.5 per million), output from config (20 per million).
  assert.equal(costNano(partial.sheetAt(new Date()), usage(1000, 1000)), 2_500_000 + 20_000_000);
  const house = modelPricing({
    model: 'house',
    useCatalog: false,
    config: {
      input_cost_per_token: 0.000001,
      output_cost_per_token: 0.000002,
      cache_read_input_token_cost: 0.0000001,
      output_cost_per_reasoning_token: 0.000004,
    },
  });
  assert.equal(
    costNano(house.sheetAt(new Date()), usage(1000, 500, { cachedTokens: 400, reasoningTokens: 100 })),
    600 * 1000 + 400 * 100 + 400 * 2000 + 100 * 4000,
  );
});

test('uuidv7: version, variant, time prefix and order', () => {
  const a = uuidv7(1_700_000_000_000);
  const b = uuidv7(1_700_000_000_001);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(Number.parseInt(a.replace('-', '').slice(0, 12), 16), 1_700_000_000_000);
  assert.ok(a < b);
  assert.notEqual(uuidv7(), uuidv7());
});

test('SSE parser: events split across chunks and inside UTF-8 characters, CRLF, comments, no final blank line', () => {
  const parser = new SseParser();
  const bytes = Buffer.from('event: a\ndata: {"t":"é"}\n\n: keep-alive\n\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]');
  const events = [];
  for (let i = 0; i < bytes.length; i += 3) events.push(...parser.push(bytes.subarray(i, i + 3)));
  events.push(...parser.finish());
  assert.deepEqual(
    events.map((e) => [e.event, e.data]),
    [
      ['a', '{"t":"é"}'],
      [null, 'x\ny'],
      [null, '[DONE]'],
    ],
  );
  assert.equal(events[0]?.raw, 'event: a\ndata: {"t":"é"}\n\n');
});

test('router: round robin, wildcard routes, boot errors name the config path', () => {
  const router = new ModelRouter([
    { model_name: 'm', litellm_params: { model: 'openai/a', api_base: 'http://one/v1' } },
    { model_name: 'm', litellm_params: { model: 'openai/b', api_base: 'http://two/v1' } },
    { model_name: 'groq/*', litellm_params: { model: 'groq/*' } },
  ]);
  assert.deepEqual([router.resolve('m')?.upstreamModel, router.resolve('m')?.upstreamModel], ['a', 'b']);
  const groq = router.resolve('groq/llama-3.1-8b-instant');
  assert.deepEqual(
    [groq?.provider, groq?.upstreamModel, groq?.apiBase],
    ['groq', 'llama-3.1-8b-instant', 'https://api.groq.com/openai/v1'],
  );
  assert.equal(router.resolve('nope'), null);
  assert.deepEqual(
    [
      keyMayUse([], 'm'),
      keyMayUse(['gpt-*'], 'gpt-4o'),
      keyMayUse(['gpt-*'], 'claude'),
      keyMayUse(['all-proxy-models'], 'claude'),
    ],
    [true, true, false, true],
  );
  assert.throws(
    () => new ModelRouter([{ model_name: 'v', litellm_params: { model: 'hosted_vllm/llama' } }]),
    /model_list\[0\]\.litellm_params\.api_base: required for provider hosted_vllm/,
  );
});

test('chat → Anthropic: empty turns dropped, consecutive turns merged, parallel_tool_calls, bad tool arguments named', () => {
  const out = chatToMessagesRequest(
    {
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/cat.png' } }] },
      ],
      tools: [{ type: 'function', function: { name: 't' } }],
      parallel_tool_calls: false,
      stop: ['x', 'y'],
    },
    'claude',
    10,
  );
  assert.deepEqual(out.messages, [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'a' },
        { type: 'image', source: { type: 'url', url: 'https://x/cat.png' } },
      ],
    },
  ]);
  assert.deepEqual(out.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  assert.deepEqual(out.stop_sequences, ['x', 'y']);
  assert.throws(
    () =>
      chatToMessagesRequest(
        { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{bad' } }] }] },
        'claude',
        10,
      ),
    /messages\[0\]\.tool_calls\[0\]\.function\.arguments/,
  );
});

test('worst case: every input token at the dearest input rate, every output token at the dearest output rate', () => {
  const perToken = (usd: number) => decimalFromNumber(usd);
  // Anthropic-like: cache writes dearer than input; a model whose reasoning tokens cost more than output.
  const sheet = {
    input: perToken(0.000001),
    cacheRead: perToken(0.0000001),
    cacheWrite: perToken(0.00000125),
    output: perToken(0.000002),
    reasoning: perToken(0.000003),
  };
  assert.equal(worstCaseCostNano(sheet, 1000, 500), 1000 * 1250 + 500 * 3000);
  // Without cache/reasoning prices they fall back to input/output: the plain price.
  assert.equal(worstCaseCostNano({ input: perToken(0.000001), output: perToken(0.000002) }, 1000, 500), 2_000_000);
  assert.equal(worstCaseCostNano(null, 1000, 500), 0);
  assert.throws(() => worstCaseCostNano(sheet, 10, 2 ** 53 - 1), RangeError);
});

test('truncateToTokens: at most max tokens as counted, a prefix of the text, bounded work on huge texts', () => {
  const words = Array.from({ length: 500 }, (_, i) => `word${i}`).join(' ');
  const cut = truncateToTokens(words, 10);
  assert.ok(cut.truncated && words.startsWith(cut.text) && countTextTokens(cut.text) <= 10, cut.text);
  assert.deepEqual(truncateToTokens('short', 10), { text: 'short', truncated: false });
  // CJK: about one token per character, so a cut by characters alone would overshoot.
  const cjk = '数据仓库预算'.repeat(400);
  const cjkCut = truncateToTokens(cjk, 20);
  assert.ok(countTextTokens(cjkCut.text) <= 20 && cjk.startsWith(cjkCut.text));
  // Past the exact-count size a text counts as length / 4, so the cut is by characters.
  const huge = 'lorem ipsum '.repeat(1_000_000);
  const hugeCut = truncateToTokens(huge, 20_000);
  assert.equal(hugeCut.text.length, 80_000);
  assert.ok(countTextTokens(hugeCut.text) <= 20_000);
  // Emoji are surrogate pairs: never cut in half.
  const emoji = truncateToTokens('😀'.repeat(50_000), 9000);
  assert.ok(!/[\uD800-\uDBFF]$/.test(emoji.text));
});

test('token counts: runs over 64 characters are estimated (4 UTF-8 bytes a token), not BPE-encoded', () => {
  // js-tiktoken needed over 2 minutes for 32,000 repeated letters (BPE is quadratic in a piece's length).
  assert.equal(countTextTokens('x'.repeat(32_000)), 8000);
  assert.equal(countTextTokens(`hello${' '.repeat(400)}world`), countTextTokens('hello world') + 100);
  // Ordinary text is still counted exactly.
  assert.equal(countTextTokens('The quick brown fox jumps over the lazy dog.'), 10);
});

test('a prompt BPE-encodes at most 64 Ki characters of new text; the rest is estimated (4 characters a token)', () => {
  // 20,000 short new pieces held the event loop ~300 ms piece by piece (found by the fuzz suite).
  const pieces = Array.from({ length: 20_000 }, (_, i) => `${i} 7 7 7 7 7 7`);
  const counted = countPromptTokens('completion', { prompt: pieces });
  let left = 64 * 1024;
  let expected = 0;
  let estimatedPieces = 0;
  for (const piece of pieces) {
    if (piece.length > left) {
      expected += Math.ceil(piece.length / 4);
      estimatedPieces += 1;
    } else {
      left -= piece.length;
      expected += countTextTokens(piece); // memoised by the prompt count: the exact count it used
    }
  }
  assert.ok(estimatedPieces > 10_000, `${estimatedPieces} pieces past the budget`);
  assert.equal(counted, expected);
  // Outside a prompt count there is no such budget: each piece alone is counted exactly.
  assert.equal(countTextTokens(pieces[19_999] ?? ''), 14, 'digits and spaces: about a token a character');
});

test('output bound: Messages reads only max_tokens; OpenAI routes take the larger of the two fields', () => {
  const deployment = new ModelRouter([{ model_name: 'm', litellm_params: { model: 'openai/a' } }]).resolve('m');
  assert.ok(deployment);
  // A translation to an OpenAI-compatible upstream forwards only max_tokens: a max_completion_tokens of 1
  // beside it must not price the call at one output token.
  assert.deepEqual(readOutputBound('messages', { max_completion_tokens: 1, max_tokens: 1000 }, deployment), {
    maxTokens: 1000,
    choices: 1,
    param: 'max_tokens',
  });
  const chat = readOutputBound('chat', { max_completion_tokens: 5, max_tokens: 50, n: 2 }, deployment);
  assert.deepEqual(chat, { maxTokens: 50, choices: 2, param: 'max_tokens' });
});
