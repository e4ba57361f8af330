// The OpenAI Responses API through the proxy, driven by the real `openai` SDK: native on OpenAI and Azure
// (the provider's bytes passed through, usage read from `response.usage`), translated through the chat
// exchange for Anthropic, an OpenAI-compatible provider and the mock (JSON, streamed events, tools and a
// tool-result round). Every call's exact cost is read back from ClickHouse. Refusals name the field. Translated
// Responses keep their items per key (item_reference, previous_response_id); a stream the provider drops
// ends in response.failed.
// Prices: gpt-4o-mini from genai-prices (input 0.15, cached input 0.075, output 0.6 USD per million tokens);
// claude-3-5-sonnet (input 3, cache read 0.3, cache write 3.75, output 15); the others 1 and 2 USD per million.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import type { ResponseCreateParamsNonStreaming, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { hashKey } from '../src/auth/principal.js';
import { ZERO_USAGE } from '../src/pricing/usage.js';
import type { StreamTap } from '../src/proxy/exchange/types.js';
import { openAIFrame, SseParser } from '../src/proxy/sse.js';
import { responsesStreamFromChat } from '../src/proxy/translate/responsesFromChat.js';
import { type FakeGemini, startFakeGemini } from './helpers/fakeGemini.js';
import { type ResponsesHarness, startResponsesHarness, waitForStoredCall } from './helpers/responsesHarness.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

const OTHER_KEY = 'sk-other-team-key-0002';
let h: ResponsesHarness;
let gemini: FakeGemini;
/** A provider whose stream dies (socket destroyed) after some text: chat (translated) and native Responses. */
let dying: Server;
before(async () => {
  gemini = await startFakeGemini();
  dying = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url?.endsWith('/responses')) {
        const response = { id: 'resp_dying', object: 'response', status: 'in_progress', model: 'dying', output: [] };
        const item = { id: 'msg_dying', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
        const ids = { item_id: item.id, output_index: 0, content_index: 0 };
        const part = { type: 'output_text', text: '', annotations: [] };
        [
          { type: 'response.created', response },
          { type: 'response.in_progress', response },
          { type: 'response.output_item.added', output_index: 0, item },
          { type: 'response.content_part.added', ...ids, part },
          { type: 'response.output_text.delta', ...ids, delta: 'Hal', logprobs: [] },
        ].forEach((event, sequence_number) => {
          res.write(`event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number })}\n\n`);
        });
        setImmediate(() => res.socket?.destroy());
        return;
      }
      for (const content of ['Hal', 'lo']) {
        const chunk = { id: 'chatcmpl-dying', created: 1, model: 'dying', choices: [{ index: 0, delta: { content } }] };
        res.write(openAIFrame(chunk));
      }
      setImmediate(() => res.socket?.destroy());
    });
  });
  dying.listen(0, '127.0.0.1');
  await once(dying, 'listening');
  const dyingUrl = `http://127.0.0.1:${(dying.address() as AddressInfo).port}`;
  h = await startResponsesHarness(
    {
      guardrails: { rules: [{ patterns: ['email'], action: 'mask' }] },
      general_settings: { store_prompts_in_spend_logs: true, responses_item_ttl_seconds: 600 },
      keys: [{ key: OTHER_KEY, key_alias: 'other-key', user_id: 'user-2', team_id: 'team-b' }],
    },
    [
      {
        model_name: 'gemini-flash',
        litellm_params: { model: 'gemini/gemini-2.5-flash', api_key: gemini.apiKey, api_base: `${gemini.url}/v1beta` },
      },
      {
        model_name: 'dying',
        litellm_params: { model: 'groq/dying', api_base: `${dyingUrl}/v1`, api_key: 'sk-groq' },
        model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
      },
      {
        model_name: 'dying-native',
        litellm_params: { model: 'openai/dying', api_base: `${dyingUrl}/v1`, api_key: 'sk-openai' },
        model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
      },
    ],
  );
});
after(async () => {
  await h.close();
  await gemini.close();
  dying.closeAllConnections();
  dying.close();
});

const NATIVE_USAGE = { input: 1000, cached: 200, output: 500, reasoning: 100 };
// 800 × 0.15 + 200 × 0.075 + 500 × 0.6 = 435 USD per million tokens.
const NATIVE_COST_NANO = 435_000;
const CLAUDE_USAGE = { promptTokens: 1000, cachedTokens: 200, cacheWriteTokens: 100, completionTokens: 500 };
// 700 × 3 + 200 × 0.3 + 100 × 3.75 + 500 × 15 = 10035 USD per million tokens.
const CLAUDE_COST_NANO = 10_035_000;
const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

test('native OpenAI: JSON passed through, usage from response.usage priced exactly, recorded as responses', async () => {
  h.native.reply = { text: 'Native hello.', usage: NATIVE_USAGE };
  const { data, response } = await h
    .openai()
    .responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'Say hello',
      max_output_tokens: 50,
      store: true,
      tags: ['feature:responses'],
    } as ResponseCreateParamsNonStreaming)
    .withResponse();
  assert.equal(data.output_text, 'Native hello.');
  assert.match(data.id, /^resp_/);
  assert.equal(data.usage?.input_tokens, 1000);
  assert.equal(response.headers.get('x-spend-response-cost'), '0.000435000');

  const upstream = h.native.requests.at(-1);
  assert.equal(upstream?.path, '/v1/responses');
  assert.equal(upstream?.headers.authorization, 'Bearer sk-upstream-openai');
  assert.deepEqual(upstream?.body, {
    model: 'gpt-4o-mini',
    instructions: 'Be brief.',
    input: 'Say hello',
    max_output_tokens: 50,
    store: true,
  });

  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [row.call_type, row.provider, row.model, row.response_id, row.status, row.stream],
    ['responses', 'openai', 'gpt-4o-mini', data.id, 200, 0],
  );
  assert.deepEqual(
    [row.prompt_tokens, row.cached_tokens, row.completion_tokens, row.reasoning_tokens, row.usage_estimated],
    [1000, 200, 500, 100, 0],
  );
  assert.equal(row.cost_nano, NATIVE_COST_NANO);
});

test('native OpenAI stream: the typed events are relayed as sent, the usage of response.completed is recorded', async () => {
  h.native.reply = { text: 'Streamed natively.', usage: NATIVE_USAGE };
  const { data: stream, response } = await h
    .openai()
    .responses.create({ model: 'gpt-4o-mini', input: 'Stream please', stream: true })
    .withResponse();
  const events = await collect(stream);
  assert.equal(events[0]?.type, 'response.created');
  assert.equal(events.at(-1)?.type, 'response.completed');
  const text = events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : '')).join('');
  assert.equal(text, 'Streamed natively.');
  const completed = events.at(-1);
  assert.ok(completed?.type === 'response.completed');
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual([row.call_type, row.stream, row.response_id], ['responses', 1, completed.response.id]);
  assert.equal(row.cost_nano, NATIVE_COST_NANO);
});

test('Azure: the v1 Responses URL with the api-key header, the deployment named by model', async () => {
  h.native.reply = { text: 'From Azure.', usage: { input: 1000, cached: 0, output: 500, reasoning: 0 } };
  const { data, response } = await h.openai().responses.create({ model: 'azure-mini', input: 'hi' }).withResponse();
  assert.equal(data.output_text, 'From Azure.');
  const upstream = h.native.requests.at(-1);
  assert.equal(upstream?.path, '/openai/v1/responses');
  assert.equal(upstream?.headers['api-key'], 'sk-azure');
  assert.equal(upstream?.body.model, 'mini-deploy');
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  // 1000 × 1 + 500 × 2 = 2000 USD per million tokens.
  assert.deepEqual([row.provider, row.cost_nano], ['azure', 2_000_000]);
});

test('Anthropic (translated): instructions, image input, tools and limits reach Messages; a Response comes back', async () => {
  h.chatFake.setDefaults({ text: 'A tiny image.', usage: CLAUDE_USAGE });
  const { data, response } = await h
    .openai()
    .responses.create({
      model: 'claude-3-5-sonnet',
      instructions: 'Be brief.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: PIXEL, detail: 'auto' },
          ],
        },
      ],
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} }, strict: false }],
      tool_choice: 'auto',
      max_output_tokens: 300,
      temperature: 0.2,
    })
    .withResponse();
  assert.equal(data.output_text, 'A tiny image.');
  assert.equal(data.status, 'completed');
  assert.equal(data.object, 'response');
  assert.match(data.id, /^resp_msg_/);
  assert.deepEqual(data.usage, {
    input_tokens: 1000,
    input_tokens_details: { cached_tokens: 200 },
    output_tokens: 500,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 1500,
  });
  const upstream = h.chatFake.requests.at(-1);
  assert.equal(upstream?.path, '/v1/messages');
  assert.deepEqual(upstream?.body, {
    model: 'claude-3-5-sonnet-20241022',
    max_tokens: 300,
    system: [{ type: 'text', text: 'Be brief.' }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ],
    temperature: 0.2,
    tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'auto' },
  });
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [row.call_type, row.provider, row.response_id, row.cache_write_tokens],
    ['responses', 'anthropic', data.id, 100],
  );
  assert.equal(row.cost_nano, CLAUDE_COST_NANO);
});

test('Anthropic (translated) stream: a function call with streamed argument deltas, then a tool-result round', async () => {
  h.chatFake.setDefaults({
    text: '',
    toolCall: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
    usage: CLAUDE_USAGE,
    pieces: 3,
  });
  const tools = [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object' }, strict: true }];
  const { data: stream, response } = await h
    .openai()
    .responses.create({ model: 'claude-3-5-sonnet', input: 'Weather in Paris?', tools, stream: true })
    .withResponse();
  const events = await collect(stream);
  assert.deepEqual(
    events.map((e) => e.type),
    [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ],
  );
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const done = events.find((e) => e.type === 'response.output_item.done');
  assert.ok(done?.type === 'response.output_item.done' && done.item.type === 'function_call');
  assert.equal(done.item.name, 'get_weather');
  assert.equal(done.item.arguments, '{"city":"Paris","unit":"c"}');
  const completed = events.at(-1);
  assert.ok(completed?.type === 'response.completed');
  assert.equal(completed.response.usage?.output_tokens, 500);
  assert.deepEqual(completed.response.output, [done.item]);
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual([row.stream, row.response_id, row.cost_nano], [1, completed.response.id, CLAUDE_COST_NANO]);

  h.chatFake.setDefaults({ text: 'Sunny, 18°C.', usage: CLAUDE_USAGE });
  const second = await h.openai().responses.create({
    model: 'claude-3-5-sonnet',
    input: [
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', call_id: done.item.call_id, name: 'get_weather', arguments: done.item.arguments },
      { type: 'function_call_output', call_id: done.item.call_id, output: '18°C, sunny' },
    ],
    tools,
  });
  assert.equal(second.output_text, 'Sunny, 18°C.');
  assert.deepEqual(h.chatFake.requests.at(-1)?.body?.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
    {
      role: 'assistant',
      content: [{ type: 'tool_use', id: done.item.call_id, name: 'get_weather', input: { city: 'Paris', unit: 'c' } }],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: done.item.call_id, content: [{ type: 'text', text: '18°C, sunny' }] },
      ],
    },
  ]);
});

test('OpenAI-compatible provider (translated): text.format json_schema becomes response_format; text streamed', async () => {
  h.chatFake.setDefaults({ text: '{"ok":true}', usage: { promptTokens: 1000, completionTokens: 500 } });
  const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
  const { data: stream, response } = await h
    .openai()
    .responses.create({
      model: 'groq-llama',
      input: [
        { type: 'message', role: 'developer', content: 'Answer in JSON.' },
        { role: 'user', content: 'ok?' },
      ],
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
      max_output_tokens: 100,
      top_p: 0.9,
      stream: true,
    })
    .withResponse();
  const events = await collect(stream);
  assert.deepEqual(
    events.map((e) => e.type),
    [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ],
  );
  const textDone = events.find((e) => e.type === 'response.output_text.done');
  assert.ok(textDone?.type === 'response.output_text.done');
  assert.equal(textDone.text, '{"ok":true}');
  assert.deepEqual(h.chatFake.requests.at(-1)?.body, {
    model: 'llama-3.1-8b-instant',
    messages: [
      { role: 'developer', content: 'Answer in JSON.' },
      { role: 'user', content: 'ok?' },
    ],
    stream: true,
    max_tokens: 100,
    top_p: 0.9,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    stream_options: { include_usage: true },
  });
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual([row.provider, row.cost_nano], ['groq', 2_000_000]);
});

test('mock deployment (the demo config): JSON and stream; the output limit ends a Response as incomplete', async () => {
  const client = h.openai();
  const json = await client.responses.create({ model: 'mock-mini', input: 'hi' });
  assert.equal(json.output_text, 'This is a mock reply from Spendhouse.');
  const cut = await client.responses.create({ model: 'mock-mini', input: 'hi', max_output_tokens: 2 });
  assert.equal(cut.status, 'incomplete');
  assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(cut.usage?.output_tokens, 2);

  // The SDK's stream helper accumulates the events into a Response: it checks their order and indexes.
  const final = await client.responses.stream({ model: 'mock-mini', input: 'hi' }).finalResponse();
  assert.equal(final.output_text, 'This is a mock reply from Spendhouse.');
  assert.equal(final.status, 'completed');
});

test('guardrails screen the Responses input: instructions, messages and tool outputs are masked upstream', async () => {
  h.chatFake.setDefaults({ text: 'ok', usage: { promptTokens: 10, completionTokens: 1 } });
  await h.openai().responses.create({
    model: 'groq-llama',
    instructions: 'Reply to ann@example.com',
    input: [
      { role: 'user', content: [{ type: 'input_text', text: 'mail bob@example.com' }] },
      { type: 'function_call', call_id: 'c1', name: 'find', arguments: '{"q":"carl@example.com"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'dana@example.com' },
    ],
  });
  const sent = JSON.stringify(h.chatFake.requests.at(-1)?.body);
  assert.doesNotMatch(sent, /@example\.com/);
});

async function post(body: Record<string, unknown>) {
  const res = await fetch(`${h.origin}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { error?: { param?: string; message?: string } };
  return { status: res.status, param: json.error?.param, message: json.error?.message ?? '' };
}

test('refusals name the field: bad input, unknown items, stored state, background, hosted tools', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ model: 'claude-3-5-sonnet', input: 42 }, 'input'],
    [{ model: 'gpt-4o-mini', input: { role: 'user' } }, 'input'],
    [{ model: 'claude-3-5-sonnet', input: [{ type: 'computer_call_output', call_id: 'x' }] }, 'input[0].type'],
    [{ model: 'claude-3-5-sonnet', input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].id'],
    [{ model: 'claude-3-5-sonnet', input: [{ type: 'item_reference' }] }, 'input[0].id'],
    [{ model: 'claude-3-5-sonnet', input: [{ role: 'robot', content: 'hi' }] }, 'input[0].role'],
    [{ model: 'claude-3-5-sonnet', input: 'hi', previous_response_id: 'resp_1' }, 'previous_response_id'],
    [{ model: 'mock-mini', input: 'hi', previous_response_id: 42 }, 'previous_response_id'],
    [{ model: 'mock-mini', input: 'hi', conversation: 'conv_1' }, 'conversation'],
    [{ model: 'gpt-4o-mini', input: 'hi', background: true }, 'background'],
    [{ model: 'claude-3-5-sonnet', input: 'hi', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    [
      { model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'file_search', vector_store_ids: ['vs'] }] },
      'tools[0].type',
    ],
    [{ model: 'mock-mini', input: 'hi', max_output_tokens: 0 }, 'max_output_tokens'],
    [{ model: 'mock-mini', input: 'hi', frequency_penalty: 1 }, 'frequency_penalty'],
    [{ model: 'mock-mini', input: 'hi', reasoning: { effort: 'high' } }, 'reasoning.effort'],
    [{ model: 'mock-mini', input: 'hi', include: ['reasoning.encrypted_content'] }, 'include'],
    [{ model: 'mock-mini', input: ['hi'] }, 'input[0]'],
    [
      { model: 'mock-mini', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      'input[0].content[0].type',
    ],
    [
      { model: 'mock-mini', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] },
      'input[0].content[0].file_id',
    ],
    [{ model: 'mock-mini', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id'],
    [{ model: 'mock-mini', input: 'hi', tools: { type: 'function' } }, 'tools'],
    [{ model: 'mock-mini', input: 'hi', tool_choice: { type: 'web_search' } }, 'tool_choice'],
    [{ model: 'mock-mini', input: 'hi', text: { format: { type: 'xml' } } }, 'text.format.type'],
    [{ model: 'mock-mini', input: 'hi', text: { verbosity: 'low' } }, 'text.verbosity'],
    [{ model: 'mock-mini', input: 'hi', instructions: ['a'] }, 'instructions'],
  ];
  const before = h.native.requests.length;
  for (const [body, param] of cases) {
    const answer = await post(body);
    assert.deepEqual([answer.status, answer.param], [400, param], `${JSON.stringify(body)}: ${answer.message}`);
  }
  assert.equal(h.native.requests.length, before, 'nothing refused reached the provider');
});

/** A chat stream tap fed with OpenAI chat chunks, as a chat exchange yields them. */
function chatTap(): StreamTap {
  return {
    onEvent: (event) => [event.raw],
    end: () => [],
    usage: () => ({
      usage: { ...ZERO_USAGE, promptTokens: 7, completionTokens: 9, reasoningTokens: 2 },
      complete: true,
    }),
    responseId: () => 'chatcmpl-1',
    text: () => '',
  };
}

test('stream translation: reasoning, text and two parallel tool calls become separate items, closed in order', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    openAIFrame({ id: 'chatcmpl-1', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
  const call = (index: number, extra: Record<string, unknown>) => ({ tool_calls: [{ index, ...extra }] });
  const frames = [
    chunk({ role: 'assistant', reasoning_content: 'Think' }),
    chunk({ content: 'Checking.' }),
    chunk(call(0, { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x"' } })),
    chunk(call(1, { id: 'call_b', type: 'function', function: { name: 'b', arguments: '' } })),
    chunk(call(0, { function: { arguments: ':1}' } })),
    chunk(call(1, { function: { arguments: '{}' } })),
    chunk({}, 'tool_calls'),
    'data: [DONE]\n\n',
  ];
  const tap = responsesStreamFromChat(chatTap(), { model: 'm', input: 'x' });
  const upstream = new SseParser();
  const out = frames.flatMap((f) => upstream.push(f)).flatMap(tap.onEvent);
  out.push(...tap.end());
  const events = new SseParser()
    .push(out.join(''))
    .map((e) => JSON.parse(e.data) as Record<string, unknown> & { type: string });
  const types = events.map((e) => e.type);
  assert.equal(types.at(-1), 'response.completed');
  const added = events
    .filter((e) => e.type === 'response.output_item.added')
    .map((e) => (e.item as { type: string }).type);
  assert.deepEqual(added, ['reasoning', 'message', 'function_call', 'function_call']);
  const completed = events.at(-1)?.response as { id: string; output: Record<string, unknown>[]; usage: unknown };
  assert.equal(completed.id, 'resp_chatcmpl-1');
  assert.deepEqual(
    completed.output.map((item) => [item.type, item.name ?? null, item.arguments ?? null]),
    [
      ['reasoning', null, null],
      ['message', null, null],
      ['function_call', 'a', '{"x":1}'],
      ['function_call', 'b', '{}'],
    ],
  );
  assert.deepEqual(completed.output[0]?.summary, [{ type: 'summary_text', text: 'Think' }]);
  assert.deepEqual(completed.usage, {
    input_tokens: 7,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 9,
    output_tokens_details: { reasoning_tokens: 2 },
    total_tokens: 16,
  });
  // The terminal event is the last frame of its own: the relay holds it until the record is durable.
  assert.match(out.at(-1) ?? '', /^event: response\.completed\n/);
});

test('GET /v1/responses/{id}: the stored answer for its own scope; 404 naming the id otherwise', async () => {
  h.chatFake.setDefaults({ text: 'Remember me.', usage: CLAUDE_USAGE });
  const { data: created, response: createdResponse } = await h
    .openai()
    .responses.create({ model: 'claude-3-5-sonnet', input: 'hi' })
    .withResponse();
  // Readable once its record reached the warehouse and its id index (the ingest worker writes it after the
  // answer): asked again until then.
  await h.stored(createdResponse.headers.get('x-spend-request-id'));
  const deadline = Date.now() + 20_000;
  let first = await fetch(`${h.origin}/v1/responses/${created.id}`, {
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  while (first.status === 404 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    first = await fetch(`${h.origin}/v1/responses/${created.id}`, {
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
  }
  assert.equal(first.status, 200);
  const { data: fetched, response } = await h.openai().responses.retrieve(created.id).withResponse();
  assert.equal(response.status, 200);
  assert.equal(fetched.id, created.id);
  assert.equal(fetched.output_text, 'Remember me.');
  assert.equal(fetched.model, 'claude-3-5-sonnet');
  assert.deepEqual(fetched.usage, created.usage);

  const missing = await fetch(`${h.origin}/v1/responses/resp_nope`, {
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  assert.equal(missing.status, 404);
  const body = (await missing.json()) as { error: { param: string; message: string } };
  assert.equal(body.error.param, 'response_id');
  assert.match(body.error.message, /resp_nope/);
  // Another key's scope does not see the master key's call.
  const other = await fetch(`${h.origin}/responses/${created.id}`, {
    headers: { authorization: `Bearer ${OTHER_KEY}` },
  });
  assert.equal(other.status, 404);
  const anonymous = await fetch(`${h.origin}/v1/responses/${created.id}`);
  assert.equal(anonymous.status, 401);
});

test('budgets hold for Responses: max_output_tokens bounds the reservation; over budget is refused unforwarded', async () => {
  const created = await fetch(`${h.origin}/key/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key_alias: 'responses-budgeted', max_budget: 0.003 }),
  });
  assert.equal(created.status, 200, await created.clone().text());
  const { key } = (await created.json()) as { key: string };
  h.chatFake.setDefaults({ text: 'ok', usage: { promptTokens: 1000, completionTokens: 500 } });
  const client = h.openai(key);
  // Worst case: a few prompt tokens × $0.000001 + 500 × $0.000002 ≈ $0.001 ≤ $0.003; actual $0.002.
  const { response } = await client.responses
    .create({ model: 'groq-llama', input: 'hi', max_output_tokens: 500 })
    .withResponse();
  const first = await h.stored(response.headers.get('x-spend-request-id'));
  assert.equal(first.cost_nano, 2_000_000);

  // Spent $0.002 + a worst case of ≈ $0.001 > $0.003: refused before forwarding, and recorded.
  const upstreamBefore = h.chatFake.requests.length;
  const refused = await fetch(`${h.origin}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'groq-llama', input: 'hi', max_output_tokens: 500 }),
  });
  assert.equal(refused.status, 429);
  assert.equal(h.chatFake.requests.length, upstreamBefore);
  const row = await h.stored(refused.headers.get('x-spend-request-id'));
  assert.deepEqual([row.call_type, row.status, row.cost_nano], ['responses', 429, 0]);
});

test('Gemini (translated through its chat exchange): thinking streams as a reasoning summary, then the text', async () => {
  const usage = {
    promptTokenCount: 1000,
    cachedContentTokenCount: 200,
    candidatesTokenCount: 300,
    thoughtsTokenCount: 200,
  };
  gemini.script({ parts: [{ text: 'Let me think.', thought: true }, { text: 'Hello from Gemini.' }], usage });
  const { data: stream, response } = await h
    .openai()
    .responses.create({ model: 'gemini-flash', input: 'hi', stream: true })
    .withResponse();
  const events = await collect(stream);
  const added = events.flatMap((e) => (e.type === 'response.output_item.added' ? [e.item.type] : []));
  assert.deepEqual(added, ['reasoning', 'message']);
  const completed = events.at(-1);
  assert.ok(completed?.type === 'response.completed');
  const [reasoning, message] = completed.response.output;
  assert.ok(reasoning?.type === 'reasoning' && message?.type === 'message');
  assert.deepEqual(reasoning.summary, [{ type: 'summary_text', text: 'Let me think.' }]);
  assert.deepEqual(message.content, [
    { type: 'output_text', text: 'Hello from Gemini.', annotations: [], logprobs: [] },
  ]);
  assert.equal(completed.response.usage?.output_tokens_details.reasoning_tokens, 200);
  // genai-prices' own price for this usage (provider id `google`): prompt includes the cached part.
  const price = calcPrice({ input_tokens: 1000, cache_read_tokens: 200, output_tokens: 500 }, 'gemini-2.5-flash', {
    providerId: 'google',
  });
  assert.ok(price);
  const row = await h.stored(response.headers.get('x-spend-request-id'));
  assert.deepEqual([row.call_type, row.provider, row.reasoning_tokens], ['responses', 'gemini', 200]);
  assert.equal(row.cost_nano, Math.round(price.total_price * 1e9));
});

test('stream translation: a provider error inside the chat stream ends the Response with response.failed', () => {
  const tap = responsesStreamFromChat(chatTap(), { model: 'm', input: 'x' });
  const upstream = new SseParser();
  const frames = [
    openAIFrame({ id: 'chatcmpl-2', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'Hal' } }] }),
    openAIFrame({ error: { message: 'overloaded', type: 'overloaded_error' } }),
  ];
  const out = frames.flatMap((f) => upstream.push(f)).flatMap(tap.onEvent);
  out.push(...tap.end());
  const events = new SseParser().push(out.join('')).map((e) => JSON.parse(e.data) as Record<string, unknown>);
  const last = events.at(-1) as { type: string; response: { status: string; error: unknown; output: unknown[] } };
  assert.equal(last.type, 'response.failed');
  assert.equal(last.response.status, 'failed');
  assert.deepEqual(last.response.error, { code: 'server_error', message: 'overloaded' });
  assert.equal(last.response.output.length, 1);
  assert.match(out.at(-1) ?? '', /^event: response\.failed\n/);
});

test('stored items (translated): item_reference and previous_response_id are resolved for the same key only', async () => {
  const usage = { promptTokens: 1000, completionTokens: 500 };
  h.chatFake.setDefaults({ text: 'First answer.', usage });
  const first = await h.openai().responses.create({ model: 'groq-llama', input: 'hi' }).withResponse();
  const [item] = first.data.output;
  assert.ok(item?.type === 'message' && item.id);
  assert.equal((first.data as { store?: boolean }).store, true);

  h.chatFake.setDefaults({ text: 'Second answer.', usage });
  const second = await h
    .openai()
    .responses.create({
      model: 'groq-llama',
      input: [
        { role: 'user', content: 'hi' },
        { type: 'item_reference', id: item.id },
        { role: 'user', content: 'again' },
      ],
    })
    .withResponse();
  assert.equal(second.data.output_text, 'Second answer.');
  assert.deepEqual(h.chatFake.requests.at(-1)?.body?.messages, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'First answer.' },
    { role: 'user', content: 'again' },
  ]);

  // previous_response_id: that Response's input and output, then the new input (instructions are not carried).
  h.chatFake.setDefaults({ text: 'Third answer.', usage });
  const third = await h
    .openai()
    .responses.create({ model: 'groq-llama', previous_response_id: second.data.id, input: 'third', stream: true })
    .withResponse();
  const events = await collect(third.data);
  assert.equal(events.at(-1)?.type, 'response.completed');
  assert.deepEqual(h.chatFake.requests.at(-1)?.body?.messages, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'First answer.' },
    { role: 'user', content: 'again' },
    { role: 'assistant', content: 'Second answer.' },
    { role: 'user', content: 'third' },
  ]);
  const thirdDone = events.at(-1);
  assert.ok(thirdDone?.type === 'response.completed');
  // A chain: the fourth continues the third, which continued the second.
  h.chatFake.setDefaults({ text: 'Fourth answer.', usage });
  const fourth = await h
    .openai()
    .responses.create({ model: 'groq-llama', previous_response_id: thirdDone.response.id, input: 'fourth' })
    .withResponse();
  assert.equal(fourth.data.output_text, 'Fourth answer.');
  assert.deepEqual(((h.chatFake.requests.at(-1)?.body?.messages ?? []) as unknown[]).slice(4), [
    { role: 'user', content: 'third' },
    { role: 'assistant', content: 'Third answer.' },
    { role: 'user', content: 'fourth' },
  ]);
  for (const response of [first.response, second.response, third.response, fourth.response]) {
    const row = await h.stored(response.headers.get('x-spend-request-id'));
    assert.deepEqual([row.call_type, row.status, row.cost_nano], ['responses', 200, 2_000_000]);
  }

  // Kept for general_settings.responses_item_ttl_seconds (600 here), under the key's scope (no team: the key).
  const itemKey = `responses:item:k:${hashKey(TEST_MASTER_KEY)}:${item.id}`;
  const ttl = await h.app.redis.ttl(itemKey);
  assert.ok(ttl > 500 && ttl <= 600, `ttl ${ttl}`);

  const upstreamBefore = h.chatFake.requests.length;
  const refused = async (key: string, body: Record<string, unknown>) => {
    const res = await fetch(`${h.origin}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'groq-llama', ...body }),
    });
    const json = (await res.json()) as { error: { param: string; message: string } };
    const row = await h.stored(res.headers.get('x-spend-request-id'));
    assert.deepEqual([row.status, row.cost_nano], [400, 0]);
    return [res.status, json.error.param, json.error.message] as const;
  };
  // Another tenant (a key of team-b) cannot reference the master key's items or responses.
  const reference = {
    input: [
      { role: 'user', content: 'x' },
      { type: 'item_reference', id: item.id },
    ],
  };
  const otherTenant = await refused(OTHER_KEY, reference);
  assert.deepEqual(otherTenant.slice(0, 2), [400, 'input[1].id']);
  assert.match(otherTenant[2], new RegExp(`no stored item ${item.id}`));
  const otherPrevious = await refused(OTHER_KEY, { previous_response_id: second.data.id, input: 'x' });
  assert.deepEqual(otherPrevious.slice(0, 2), [400, 'previous_response_id']);
  // Unknown ids, and an item whose hour is over (its key expired), are refused the same way.
  assert.deepEqual(
    (await refused(TEST_MASTER_KEY, { input: [{ type: 'item_reference', id: 'msg_nope' }] })).slice(0, 2),
    [400, 'input[0].id'],
  );
  await h.app.redis.del(itemKey);
  assert.deepEqual((await refused(TEST_MASTER_KEY, reference)).slice(0, 2), [400, 'input[1].id']);
  // store: false keeps nothing.
  h.chatFake.setDefaults({ text: 'Not kept.', usage });
  const unkept = await h.openai().responses.create({ model: 'groq-llama', input: 'hi', store: false });
  assert.equal((unkept as { store?: boolean }).store, false);
  const unkeptItem = unkept.output[0]?.id ?? '';
  assert.deepEqual(
    (await refused(TEST_MASTER_KEY, { input: [{ type: 'item_reference', id: unkeptItem }] })).slice(0, 2),
    [400, 'input[0].id'],
  );
  assert.deepEqual((await refused(TEST_MASTER_KEY, { previous_response_id: unkept.id, input: 'x' })).slice(0, 2), [
    400,
    'previous_response_id',
  ]);
  // A conversation whose earlier link expired is refused whole, never silently shortened.
  await h.app.redis.del(`responses:conv:k:${hashKey(TEST_MASTER_KEY)}:${second.data.id}`);
  const broken = await refused(TEST_MASTER_KEY, { previous_response_id: thirdDone.response.id, input: 'x' });
  assert.deepEqual(broken.slice(0, 2), [400, 'previous_response_id']);
  assert.match(broken[2], new RegExp(`response ${second.data.id}, earlier in this conversation`));
  assert.equal(h.chatFake.requests.length, upstreamBefore + 1, 'only the store: false call reached the provider');
});

test('a stream the provider drops mid-way ends in response.failed (the SDK sees it); estimated usage recorded', async () => {
  const stream = h.openai().responses.stream({ model: 'dying', input: 'Say hello' });
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  const failed = events.at(-1);
  assert.ok(failed?.type === 'response.failed', JSON.stringify(failed));
  assert.equal(failed.response.status, 'failed');
  assert.equal(failed.response.error?.code, 'upstream_error');
  assert.match(failed.response.error?.message ?? '', /./);
  // The numbering continues: one event after another, the failure last.
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const text = events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : '')).join('');
  assert.equal(text, 'Hallo');
  // The text seen so far is closed into the failed Response's output.
  const [message] = failed.response.output;
  assert.ok(message?.type === 'message');
  assert.deepEqual(message.content, [{ type: 'output_text', text: 'Hallo', annotations: [], logprobs: [] }]);

  // Recorded with its status 200 (the stream had started), the error type, and usage counted locally.
  const row = await waitForStoredCall(h.app.warehouse, { responseId: failed.response.id });
  assert.deepEqual([row.call_type, row.status, row.stream, row.usage_estimated], ['responses', 200, 1, 1]);
  assert.ok(row.prompt_tokens > 0 && row.completion_tokens > 0);
  assert.equal(row.cost_nano, row.prompt_tokens * 1000 + row.completion_tokens * 2000);
});

test('a native Responses stream the provider drops ends in response.failed, numbered after the last event', async () => {
  const events: ResponseStreamEvent[] = [];
  for await (const event of h.openai().responses.stream({ model: 'dying-native', input: 'Say hello' })) {
    events.push(event);
  }
  assert.deepEqual(
    events.map((e) => [e.type, e.sequence_number]),
    [
      ['response.created', 0],
      ['response.in_progress', 1],
      ['response.output_item.added', 2],
      ['response.content_part.added', 3],
      ['response.output_text.delta', 4],
      ['response.failed', 5],
    ],
  );
  const failed = events.at(-1);
  assert.ok(failed?.type === 'response.failed');
  assert.deepEqual([failed.response.id, failed.response.status], ['resp_dying', 'failed']);
  assert.equal(failed.response.error?.code, 'upstream_error');
  const row = await waitForStoredCall(h.app.warehouse, { responseId: 'resp_dying' });
  assert.deepEqual([row.call_type, row.provider, row.status, row.usage_estimated], ['responses', 'openai', 200, 1]);
  assert.equal(row.cost_nano, row.prompt_tokens * 1000 + row.completion_tokens * 2000);
});
