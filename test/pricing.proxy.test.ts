// End to end through the proxy: a fake OpenRouter (JSON with usage.cost) and a fake Anthropic (an SSE stream
// whose usage arrives in message_start and message_delta) answer real-shaped payloads; the SpendRecord the
// proxy writes carries every usage dimension, the service tier and the provenance of its cost.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CATALOG_VERSION } from '../src/pricing/catalog.js';
import { type SpendRecord, spendRecordSchema } from '../src/spendRecord.js';
import { MemorySink } from '../src/spendSink.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

const OPENROUTER_ANSWER = {
  id: 'gen-1',
  object: 'chat.completion',
  model: 'anthropic/claude-sonnet-4',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
  usage: {
    prompt_tokens: 194,
    completion_tokens: 2,
    total_tokens: 196,
    cost: 0.95,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 100, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  },
};

const sse = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
const ANTHROPIC_STREAM = [
  sse('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-20250514',
      content: [],
      stop_reason: null,
      usage: {
        input_tokens: 2048,
        cache_creation_input_tokens: 248,
        cache_read_input_tokens: 1800,
        cache_creation: { ephemeral_5m_input_tokens: 148, ephemeral_1h_input_tokens: 100 },
        output_tokens: 1,
        service_tier: 'standard',
      },
    },
  }),
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 503, server_tool_use: { web_search_requests: 2 } },
  }),
  sse('message_stop', { type: 'message_stop' }),
].join('');

/** An OpenAI chat stream served at the flex tier: every chunk names it, the last one carries the usage. */
const FLEX_STREAM = [
  {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    model: 'o4-mini',
    service_tier: 'flex',
    choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }],
  },
  {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    model: 'o4-mini',
    service_tier: 'flex',
    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
  },
  {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    model: 'o4-mini',
    service_tier: 'flex',
    choices: [],
    usage: {
      prompt_tokens: 2006,
      completion_tokens: 1844,
      total_tokens: 3850,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 1792, audio_tokens: 0 },
    },
  },
]
  .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
  .concat('data: [DONE]\n\n')
  .join('');

function fakeProvider(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { stream?: boolean };
    if (req.url === '/v1/chat/completions' && body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(FLEX_STREAM);
    } else if (req.url === '/v1/chat/completions') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(OPENROUTER_ANSWER));
    } else if (req.url === '/v1/messages') {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(ANTHROPIC_STREAM);
    } else {
      res.writeHead(404).end();
    }
  });
}

const provider = createServer(fakeProvider);
const sink = new MemorySink();
let t: TestApp;
let origin = '';

before(async () => {
  provider.listen(0, '127.0.0.1');
  await once(provider, 'listening');
  const upstream = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'router',
          litellm_params: {
            model: 'openrouter/anthropic/claude-sonnet-4',
            api_base: `${upstream}/v1`,
            api_key: 'sk-or',
          },
          model_info: { discount: 0.1 },
        },
        {
          model_name: 'o4',
          litellm_params: { model: 'openai/o4-mini', api_base: `${upstream}/v1`, api_key: 'sk-oa' },
        },
        {
          model_name: 'claude',
          litellm_params: { model: 'anthropic/claude-sonnet-4-20250514', api_base: upstream, api_key: 'sk-ant' },
          model_info: { markup: 0.1, price_book: [{ effective_from: '2020-01-01', output_cost_per_token: 0.00002 }] },
        },
      ],
    }),
    { sink, ingestWorker: false },
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await t.close();
  provider.close();
});

async function call(path: string, body: unknown): Promise<SpendRecord> {
  const res = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.text();
  const requestId = res.headers.get('x-spend-request-id');
  const record = sink.records.find((r) => r.request_id === requestId);
  assert.ok(record, 'the record is durable before the answer ends');
  return spendRecordSchema.parse(record);
}

test('OpenRouter: the provider’s usage.cost is billed (with the deployment discount), the list cost kept', async () => {
  const record = await call('/v1/chat/completions', { model: 'router', messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(record.prompt_tokens, 194);
  assert.equal(record.cache_write_tokens, 100);
  assert.equal(record.provider_cost_nano, 950_000_000);
  // 0.95 USD × (1 − 0.1) = 0.855 USD.
  assert.equal(record.cost_nano, 855_000_000);
  // 94 × 3 + 100 × 3.75 + 2 × 15 µUSD at OpenRouter's list prices.
  assert.equal(record.list_cost_nano, 687_000);
  assert.equal(record.price_source, 'provider');
  assert.equal(record.unit_prices.multiplier, '0.9');
  assert.equal(record.unit_prices.cache_write_5m, '0.00000375');
});

test('Anthropic stream: cache writes by TTL, web searches, service tier and a dated config price with a markup', async () => {
  const record = await call('/v1/messages', {
    model: 'claude',
    max_tokens: 1000,
    stream: true,
    messages: [{ role: 'user', content: 'Hello' }],
  });
  assert.deepEqual(
    [
      record.prompt_tokens,
      record.cached_tokens,
      record.cache_write_tokens,
      record.cache_write_1h_tokens,
      record.completion_tokens,
      record.web_search_requests,
      record.service_tier,
    ],
    [4096, 1800, 248, 100, 503, 2, 'standard'],
  );
  // List: 2048 × 3 + 1800 × 0.3 + 148 × 3.75 + 100 × 6 + 503 × 20 (the price book's output) µUSD
  //   = 6144 + 540 + 555 + 600 + 10 060 = 17 899 µUSD, + 2 searches × 0.01 USD = 37 899 µUSD.
  assert.equal(record.list_cost_nano, 37_899_000);
  // × 1.1 markup = 41 688.9 µUSD.
  assert.equal(record.cost_nano, 41_688_900);
  assert.equal(record.cost_status, 'custom');
  assert.equal(record.price_source, 'config');
  assert.equal(record.price_version, `config:claude@2020-01-01+${CATALOG_VERSION}`);
  assert.deepEqual(record.unit_prices, {
    input: '0.000003',
    cache_read: '0.0000003',
    cache_write_5m: '0.00000375',
    cache_write_1h: '0.000006',
    output: '0.00002',
    web_search: '0.01',
    multiplier: '1.1',
  });
  assert.equal(record.provider_cost_nano, null);
});

test('OpenAI stream at the flex tier: the final usage chunk and the tier it names price the call at half', async () => {
  const record = await call('/v1/chat/completions', {
    model: 'o4',
    stream: true,
    service_tier: 'flex',
    messages: [{ role: 'user', content: 'Hi' }],
  });
  assert.deepEqual(
    [record.prompt_tokens, record.cached_tokens, record.reasoning_tokens, record.service_tier],
    [2006, 1920, 1792, 'flex'],
  );
  // o4-mini standard: 86 × 1.10 + 1920 × 0.275 + 1844 × 4.40 = 8736.2 µUSD; flex is half: 4368.1 µUSD.
  assert.equal(record.cost_nano, 4_368_100);
  assert.equal(record.unit_prices.cache_read, '0.0000001375');
  assert.match(record.price_version, /^genai-prices@\S+ flex×0\.5$/);
});
