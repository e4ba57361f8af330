// Pure pieces of the proxy, no servers (pricing has its own: test/pricing.units.test.ts): truncation at
// max_tokens, UUIDv7 ids, the SSE parser, model routing and the chat → Anthropic request translation edge cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readOutputBound } from '../src/proxy/call/requestBounds.js';
import { keyMayUse, ModelRouter } from '../src/proxy/deployments.js';
import { uuidv7 } from '../src/proxy/requestId.js';
import { SseParser } from '../src/proxy/sse.js';
import { countPromptTokens, countTextTokens, truncateToTokens } from '../src/proxy/tokens.js';
import { chatToMessagesRequest } from '../src/proxy/translate/chatToMessages.js';

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
