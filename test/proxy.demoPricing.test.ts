// `npm start`'s demo config (config.demo.yaml) prices its mock models from the genai-prices catalog like the
// real models of the same names: an embedding call with the real OpenAI SDK on text-embedding-3-small is
// priced at the catalog's price (OpenAI, $0.02 per million input tokens), not recorded `unpriced`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';

const DEMO = parse(readFileSync(new URL('../config.demo.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
/** genai-prices 0.1.8, openai/text-embedding-3-small: input_mtok 0.02 → 20 nano-USD a token. */
const NANO_PER_TOKEN = 20;

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness(() => ({ ...DEMO, archive: { enabled: false } }));
});
after(async () => h?.close());

test('text-embedding-3-small on the demo config is priced from the catalog, exactly', async () => {
  const { data, response } = await h
    .openai()
    .embeddings.create({ model: 'text-embedding-3-small', input: ['first text to embed', 'and a second one'] })
    .withResponse();
  assert.equal(data.data.length, 2);
  assert.ok(data.usage.prompt_tokens > 0);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [record.call_type, record.model, record.provider, record.cost_status],
    ['embedding', 'text-embedding-3-small', 'mock', 'priced'],
  );
  assert.deepEqual([record.prompt_tokens, record.completion_tokens], [data.usage.prompt_tokens, 0]);
  assert.equal(record.cost_nano, data.usage.prompt_tokens * NANO_PER_TOKEN);
  assert.equal(response.headers.get('x-spend-response-cost'), (record.cost_nano / 1e9).toFixed(9));
});

test('the demo chat models stay priced as before (provider-wide name match first)', async () => {
  const { response } = await h
    .openai()
    .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_status, 'priced');
  // openai/gpt-4o-mini: input 0.15, output 0.6 USD per million tokens.
  assert.equal(record.cost_nano, record.prompt_tokens * 150 + record.completion_tokens * 600);
});
