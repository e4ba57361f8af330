// Claude behind the proxy: the OpenAI SDK calling an anthropic/… deployment (request and answer translated,
// JSON and streamed, tools and images), the Anthropic SDK on /v1/messages (native passthrough), and the
// Anthropic SDK calling an OpenAI-compatible model (translated the other way).
// Prices come from genai-prices 0.1.8 for claude-3-5-sonnet: input 3, cache read 0.3, cache write 3.75,
// output 15 USD per million tokens. Prompts are stored in this app's records (store_prompts_in_spend_logs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ProxyHarness, proxyTestModels, startProxyHarness } from './helpers/fakeUpstreamProxy.js';

let h: ProxyHarness;
before(async () => {
  h = await startProxyHarness((fake) => ({
    model_list: proxyTestModels(fake),
    general_settings: { store_prompts_in_spend_logs: true },
  }));
});
after(async () => h.close());

const CLAUDE_USAGE = { promptTokens: 1000, cachedTokens: 200, cacheWriteTokens: 100, completionTokens: 500 };
// 700 × 3 + 200 × 0.3 + 100 × 3.75 + 500 × 15 = 10035 USD per million = 0.010035 USD.
const CLAUDE_COST_NANO = 10_035_000;
const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

test('OpenAI SDK → claude-3-5-sonnet: system, image, tools, stop and sampling translated; answer and usage back', async () => {
  h.fake.setDefaults({ text: 'A red pixel.', usage: CLAUDE_USAGE });
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude-3-5-sonnet',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: PIXEL } },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      temperature: 0.2,
      stop: 'END',
      max_tokens: 300,
      user: 'cust-9',
    })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'A red pixel.');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.equal(data.usage?.prompt_tokens, 1000);
  assert.equal(data.usage?.prompt_tokens_details?.cached_tokens, 200);
  assert.equal(data.usage?.completion_tokens, 500);

  const upstream = h.fake.requests.at(-1);
  assert.equal(upstream?.path, '/v1/messages');
  assert.equal(upstream?.headers['x-api-key'], 'sk-upstream-anthropic');
  assert.equal(upstream?.headers['anthropic-version'], '2023-06-01');
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
    stop_sequences: ['END'],
    metadata: { user_id: 'cust-9' },
    tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
  });

  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, CLAUDE_COST_NANO);
  assert.deepEqual(
    [record.provider, record.model, record.upstream_model, record.cost_status, record.customer_id],
    ['anthropic', 'claude-3-5-sonnet', 'claude-3-5-sonnet-20241022', 'priced', 'cust-9'],
  );
  assert.deepEqual([record.cached_tokens, record.cache_write_tokens], [200, 100]);
  assert.equal(record.response, 'A red pixel.');
  assert.match(record.messages ?? '', /What is this\?/);
});

test('tool calls round-trip: tool_use becomes tool_calls, tool results become tool_result blocks', async () => {
  h.fake.setDefaults({
    text: '',
    toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    usage: CLAUDE_USAGE,
  });
  const first = await h.openai().chat.completions.create({
    model: 'claude-3-5-sonnet',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    tool_choice: 'required',
  });
  const call = first.choices[0]?.message.tool_calls?.[0];
  assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
  assert.ok(call && call.type === 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.deepEqual(h.fake.requests.at(-1)?.body?.tool_choice, { type: 'any' });

  h.fake.setDefaults({ text: 'Sunny.', usage: CLAUDE_USAGE });
  const second = await h.openai().chat.completions.create({
    model: 'claude-3-5-sonnet',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '18°C, sunny' },
    ],
  });
  assert.equal(second.choices[0]?.message.content, 'Sunny.');
  assert.deepEqual(h.fake.requests.at(-1)?.body?.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } }] },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: call.id, content: [{ type: 'text', text: '18°C, sunny' }] }],
    },
  ]);
});

test('OpenAI SDK streaming from Claude: Anthropic events become chat chunks with usage', async () => {
  h.fake.setDefaults({ text: 'Streaming from Claude works.', usage: CLAUDE_USAGE });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude-3-5-sonnet',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  let text = '';
  let finish: string | null = null;
  let promptTokens = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) promptTokens = chunk.usage.prompt_tokens;
  }
  assert.equal(text, 'Streaming from Claude works.');
  assert.equal(finish, 'stop');
  assert.equal(promptTokens, 1000);
  assert.equal(h.fake.requests.at(-1)?.body?.stream, true);
  // No max_tokens in the request and none in model_info: the proxy's default output budget is sent.
  assert.equal(h.fake.requests.at(-1)?.body?.max_tokens, 4096);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, CLAUDE_COST_NANO);
  assert.deepEqual(
    [record.stream, record.usage_estimated, record.response],
    [true, false, 'Streaming from Claude works.'],
  );
});

test('Anthropic SDK on /v1/messages: native JSON and stream pass through, priced from Anthropic usage', async () => {
  h.fake.setDefaults({ text: 'Native hello.', usage: CLAUDE_USAGE });
  const client = h.anthropic();
  const { data: message, response } = await client.messages
    .create({
      model: 'claude-3-5-sonnet',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello' }],
      metadata: { user_id: 'anthropic-user' },
    })
    .withResponse();
  assert.equal(message.content[0]?.type === 'text' ? message.content[0].text : '', 'Native hello.');
  assert.equal(message.usage.input_tokens, 700);
  assert.equal(h.fake.requests.at(-1)?.headers['x-api-key'], 'sk-upstream-anthropic');
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [record.call_type, record.cost_nano, record.prompt_tokens, record.customer_id, record.key_alias],
    ['messages', CLAUDE_COST_NANO, 1000, 'anthropic-user', 'master'],
  );

  const stream = client.messages.stream({
    model: 'claude-3-5-sonnet',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const final = await stream.finalMessage();
  assert.equal(final.usage.output_tokens, 500);
  const requestId = (await stream.withResponse()).response.headers.get('x-spend-request-id');
  const streamRecord = await h.record(requestId);
  assert.deepEqual(
    [streamRecord.stream, streamRecord.cost_nano, streamRecord.usage_estimated],
    [true, CLAUDE_COST_NANO, false],
  );
});

test('Anthropic SDK on a mock model', async () => {
  const message = await h
    .anthropic()
    .messages.create({ model: 'mock-demo', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(
    message.content[0]?.type === 'text' ? message.content[0].text : '',
    'This is a mock reply from Spendhouse.',
  );
});

test('Anthropic SDK → an OpenAI-compatible model: request translated to chat, answer and stream back', async () => {
  h.fake.setDefaults({ text: 'Hi from GPT.', usage: { promptTokens: 1000, completionTokens: 500 } });
  const client = h.anthropic();
  const { data: message, response } = await client.messages
    .create({
      model: 'house-gpt',
      max_tokens: 64,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
      stop_sequences: ['END'],
    })
    .withResponse();
  assert.deepEqual(message.content, [{ type: 'text', text: 'Hi from GPT.' }]);
  assert.equal(message.stop_reason, 'end_turn');
  assert.deepEqual([message.usage.input_tokens, message.usage.output_tokens], [1000, 500]);
  const upstream = h.fake.requests.at(-1);
  assert.equal(upstream?.path, '/v1/chat/completions');
  assert.deepEqual(upstream?.body, {
    model: 'house-model',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hello' }] },
    ],
    max_tokens: 64,
    stop: ['END'],
  });
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual([record.call_type, record.provider, record.cost_nano], ['messages', 'openai', 2_000_000]);

  const stream = client.messages.stream({
    model: 'house-gpt',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const final = await stream.finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'Hi from GPT.' }]);
  assert.equal(final.usage.output_tokens, 500);
  const streamRecord = await h.record((await stream.withResponse()).response.headers.get('x-spend-request-id'));
  assert.deepEqual(
    [streamRecord.stream, streamRecord.cost_nano, streamRecord.usage_estimated],
    [true, 2_000_000, false],
  );
});

test('Anthropic SDK tool use against an OpenAI-compatible model, JSON and streamed', async () => {
  h.fake.setDefaults({ text: '', toolCall: { name: 'get_weather', arguments: '{"city":"Oslo"}' } });
  const client = h.anthropic();
  const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: {} } }];
  const ask = { model: 'house-gpt', max_tokens: 64, tools, messages: [{ role: 'user' as const, content: 'Weather?' }] };
  const message = await client.messages.create({ ...ask, tool_choice: { type: 'any' } });
  const toolUse = message.content.find((block) => block.type === 'tool_use');
  assert.equal(message.stop_reason, 'tool_use');
  assert.ok(toolUse && toolUse.type === 'tool_use');
  assert.deepEqual([toolUse.name, toolUse.input], ['get_weather', { city: 'Oslo' }]);
  assert.equal(h.fake.requests.at(-1)?.body?.tool_choice, 'required');

  const streamed = await client.messages.stream(ask).finalMessage();
  const streamedUse = streamed.content.find((block) => block.type === 'tool_use');
  assert.ok(streamedUse && streamedUse.type === 'tool_use');
  assert.deepEqual(streamedUse.input, { city: 'Oslo' });

  h.fake.setDefaults({ text: 'Cold.' });
  await client.messages.create({
    ...ask,
    messages: [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: toolUse.id, name: 'get_weather', input: { city: 'Oslo' } }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '-5°C' }] },
    ],
  });
  assert.deepEqual(h.fake.requests.at(-1)?.body?.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: toolUse.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ],
    },
    { role: 'tool', tool_call_id: toolUse.id, content: '-5°C' },
  ]);
});
