// Token counting off the hot path: the reservation's prompt bound (promptSize.ts) is never below the
// tokenizer's count, for any text; exact counts for calls without the provider's usage come from a worker
// thread (tokenCountPool.ts), and until that worker is ready a call gets the rough estimate at once
// instead of waiting for the tokenizer to build.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { promptTokenBound } from '../src/proxy/promptSize.js';
import { countTokensOffLoop, warmTokenCounter } from '../src/proxy/tokenCountPool.js';
import { countPromptTokens, countTextTokens } from '../src/proxy/tokens.js';

test('the prompt bound is at least the tokenizer count: any text, any shape, CJK and emoji included', () => {
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('日本語のテキストです。'.repeat(20), '😀🙂🙃'.repeat(40), 'hello world '.repeat(30)),
  );
  fc.assert(
    fc.property(fc.array(text, { minLength: 1, maxLength: 4 }), (texts) => {
      const messages = texts.map((content) => ({ role: 'user', content }));
      const shapes: [Parameters<typeof promptTokenBound>[0], Record<string, unknown>][] = [
        ['chat', { messages }],
        ['messages', { system: texts[0], messages }],
        ['completion', { prompt: texts }],
        ['embedding', { input: texts }],
        ['responses', { instructions: texts[0], input: messages }],
      ];
      for (const [shape, body] of shapes) {
        const exact = countPromptTokens(shape, body);
        const bound = promptTokenBound(shape, body);
        assert.ok(bound >= exact, `${shape}: bound ${bound} < tokenizer ${exact} for ${JSON.stringify(texts)}`);
      }
    }),
    { numRuns: 200 },
  );
  // CJK: about a token a character, 3 bytes each — the old 4-characters-a-token guess reserved a third.
  const cjk = '価格は正確でなければならない'.repeat(50);
  assert.ok(promptTokenBound('chat', { messages: [{ role: 'user', content: cjk }] }) >= countTextTokens(cjk));
});

test('usage without the provider: a rough estimate at once while the worker starts, exact counts once it is ready', async () => {
  const body = { messages: [{ role: 'user', content: 'Count me exactly, please.' }] };
  const text = 'The quick brown fox jumps over the lazy dog.';
  const first = await countTokensOffLoop({ prompt: { shape: 'chat', body }, text });
  // Bytes / 4: 44 bytes of output → 11; the tokenizer says 10.
  assert.deepEqual(first.completion, Math.ceil(Buffer.byteLength(text) / 4));
  await warmTokenCounter();
  const exact = await countTokensOffLoop({ prompt: { shape: 'chat', body }, text });
  assert.deepEqual(exact, { prompt: countPromptTokens('chat', body), completion: countTextTokens(text) });
  const outputOnly = await countTokensOffLoop({ prompt: null, text: '日本語' });
  assert.deepEqual(outputOnly, { prompt: 0, completion: countTextTokens('日本語') });
});
