// Bedrock behind the proxy: the OpenAI SDK (chat JSON, stream with include_usage, a tool round) and the
// Anthropic SDK (messages JSON and stream) through Spendhouse to a fake Bedrock Runtime that verifies every
// SigV4 signature and answers Converse JSON and ConverseStream binary event-stream frames
// (test/helpers/fakeBedrock.ts, checked once against the real @aws-sdk/client-bedrock-runtime). Costs are
// checked against genai-prices' own calculation for the provider id the code uses (`aws`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { calcPrice } from '@pydantic/genai-prices';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI from 'openai';
import { resolveAwsSettings } from '../src/proxy/providers/bedrock.js';
import { type BedrockUsage, type FakeBedrock, startFakeBedrock } from './helpers/fakeBedrock.js';
import { type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';

const MODEL_ID = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const CREDENTIALS = { accessKeyId: 'AKIDBEDROCKTEST', secretAccessKey: 'bedrock-secret', sessionToken: 'session-tok' };

let bedrock: FakeBedrock;
let h: ProxyHarness;
before(async () => {
  bedrock = await startFakeBedrock(CREDENTIALS);
  const params = {
    model: `bedrock/${MODEL_ID}`,
    api_base: bedrock.url,
    aws_region_name: 'us-west-2',
    aws_access_key_id: CREDENTIALS.accessKeyId,
    aws_secret_access_key: CREDENTIALS.secretAccessKey,
    aws_session_token: CREDENTIALS.sessionToken,
  };
  h = await startProxyHarness(() => ({
    model_list: [
      { model_name: 'claude-bedrock', litellm_params: params },
      { model_name: 'bedrock-bad-secret', litellm_params: { ...params, aws_secret_access_key: 'wrong' } },
    ],
  }));
});
after(async () => {
  await h.close();
  await bedrock.close();
});

const USAGE: BedrockUsage = {
  inputTokens: 700,
  cacheReadInputTokens: 200,
  cacheWriteInputTokens: 100,
  outputTokens: 500,
};

/** genai-prices' own price of a Converse usage (its input_tokens include cache reads and writes), in nano-USD. */
function catalogCostNano(usage: BedrockUsage): number {
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteInputTokens ?? 0;
  const price = calcPrice(
    {
      input_tokens: usage.inputTokens + cacheRead + cacheWrite,
      cache_read_tokens: cacheRead,
      cache_write_tokens: cacheWrite,
      output_tokens: usage.outputTokens,
    },
    MODEL_ID,
    { providerId: 'aws' },
  );
  assert.ok(price, `genai-prices knows ${MODEL_ID} under aws`);
  return Math.round(price.total_price * 1e9);
}

const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

test('the fake speaks Bedrock: the real AWS SDK signs for it and reads Converse, ConverseStream and errors', async () => {
  const client = new BedrockRuntimeClient({
    region: 'us-west-2',
    endpoint: bedrock.url,
    credentials: CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
  bedrock.script({ content: [{ text: 'Hello from Bedrock.' }], usage: USAGE });
  const answer = await client.send(
    new ConverseCommand({ modelId: MODEL_ID, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
  );
  assert.deepEqual(answer.output?.message?.content, [{ text: 'Hello from Bedrock.' }]);
  assert.equal(answer.usage?.cacheWriteInputTokens, 100);
  assert.deepEqual(bedrock.requests.at(-1)?.signature, {
    valid: true,
    region: 'us-west-2',
    service: 'bedrock',
    accessKeyId: CREDENTIALS.accessKeyId,
  });
  const stream = await client.send(
    new ConverseStreamCommand({ modelId: MODEL_ID, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
  );
  let text = '';
  let usage: unknown;
  for await (const event of stream.stream ?? []) {
    text += event.contentBlockDelta?.delta?.text ?? '';
    if (event.metadata) usage = event.metadata.usage;
  }
  assert.equal(text, 'Hello from Bedrock.');
  assert.deepEqual(usage, { ...USAGE, totalTokens: 1500 });
  bedrock.script({ error: { status: 429, type: 'ThrottlingException', message: 'Too many requests' } });
  await assert.rejects(
    client.send(new ConverseCommand({ modelId: MODEL_ID, messages: [{ role: 'user', content: [{ text: 'hi' }] }] })),
    { name: 'ThrottlingException' },
  );
});

test('OpenAI SDK → Bedrock: signed Converse call, system, image, tools, stop and sampling translated; priced from usage', async () => {
  bedrock.script({ content: [{ text: 'A red pixel.' }], usage: USAGE });
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude-bedrock',
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
      max_tokens: 300,
      stop: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      user: 'cust-3',
    })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'A red pixel.');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.deepEqual([data.usage?.prompt_tokens, data.usage?.prompt_tokens_details?.cached_tokens], [1000, 200]);

  const upstream = bedrock.requests.at(-1);
  assert.equal(upstream?.path, '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
  assert.deepEqual(upstream?.signature, {
    valid: true,
    region: 'us-west-2',
    service: 'bedrock',
    accessKeyId: CREDENTIALS.accessKeyId,
  });
  assert.equal(upstream?.headers['x-amz-security-token'], CREDENTIALS.sessionToken);
  assert.deepEqual(upstream?.body, {
    messages: [
      {
        role: 'user',
        content: [{ text: 'What is this?' }, { image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } }],
      },
    ],
    system: [{ text: 'Be brief.' }],
    inferenceConfig: { maxTokens: 300, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    toolConfig: {
      tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object', properties: {} } } } }],
    },
  });

  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, catalogCostNano(USAGE));
  assert.equal(record.cost_nano, 2_676_000);
  assert.deepEqual(
    [record.provider, record.model, record.upstream_model, record.cost_status, record.customer_id],
    ['bedrock', 'claude-bedrock', MODEL_ID, 'priced', 'cust-3'],
  );
  assert.deepEqual(
    [record.prompt_tokens, record.completion_tokens, record.cached_tokens, record.cache_write_tokens],
    [1000, 500, 200, 100],
  );
  assert.match(String(record.response_id), /^bedrock-req-\d+$/);
  assert.equal(record.response_id, data.id);
});

test('OpenAI SDK stream with include_usage: ConverseStream event-stream frames relayed as chat chunks', async () => {
  bedrock.script({ content: [{ text: 'Streaming from Bedrock.' }], usage: USAGE });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude-bedrock',
      messages: [{ role: 'user', content: 'Say it.' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'Streaming from Bedrock.');
  assert.equal(finish, 'stop');
  assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [1000, 500]);
  assert.equal(bedrock.requests.at(-1)?.path, '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream');
  assert.equal(bedrock.requests.at(-1)?.signature.valid, true);

  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, catalogCostNano(USAGE));
  assert.deepEqual([record.stream, record.usage_estimated, record.cache_write_tokens], [true, false, 100]);
});

test('a tool round: toolUse becomes tool_calls (streamed input deltas as argument deltas), results toolResult', async () => {
  const toolUse = { toolUseId: 'tooluse_abc', name: 'get_weather', input: { city: 'Paris' } };
  bedrock.script({ content: [{ toolUse }], stopReason: 'tool_use', usage: USAGE });
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
  ];
  const stream = await h.openai().chat.completions.create({
    model: 'claude-bedrock',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    stream: true,
  });
  let args = '';
  let id: string | undefined;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    const call = chunk.choices[0]?.delta.tool_calls?.[0];
    id ??= call?.id;
    args += call?.function?.arguments ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(id, 'tooluse_abc');
  assert.deepEqual(JSON.parse(args), { city: 'Paris' });
  assert.equal(finish, 'tool_calls');
  const toolConfig = bedrock.requests.at(-1)?.body.toolConfig as { toolChoice?: unknown } | undefined;
  assert.deepEqual(toolConfig?.toolChoice, { tool: { name: 'get_weather' } });

  bedrock.script({ content: [{ text: 'Sunny.' }], usage: USAGE });
  const second = await h.openai().chat.completions.create({
    model: 'claude-bedrock',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'tooluse_abc', type: 'function', function: { name: 'get_weather', arguments: args } }],
      },
      { role: 'tool', tool_call_id: 'tooluse_abc', content: '18°C, sunny' },
    ],
    tools,
  });
  assert.equal(second.choices[0]?.message.content, 'Sunny.');
  assert.deepEqual(bedrock.requests.at(-1)?.body.messages, [
    { role: 'user', content: [{ text: 'Weather in Paris?' }] },
    { role: 'assistant', content: [{ toolUse }] },
    { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_abc', content: [{ text: '18°C, sunny' }] } }] },
  ]);
});

test('Anthropic SDK → Bedrock: messages JSON and stream, cache counts back in Anthropic usage, cost exact', async () => {
  bedrock.script({ content: [{ text: 'Hello via Converse.' }], usage: USAGE });
  const { data: message, response } = await h
    .anthropic()
    .messages.create({
      model: 'claude-bedrock',
      max_tokens: 200,
      system: 'Be kind.',
      messages: [{ role: 'user', content: 'Greet me.' }],
    })
    .withResponse();
  assert.equal(message.content[0]?.type === 'text' ? message.content[0].text : null, 'Hello via Converse.');
  assert.deepEqual(
    [
      message.usage.input_tokens,
      message.usage.cache_read_input_tokens,
      message.usage.cache_creation_input_tokens,
      message.usage.output_tokens,
    ],
    [700, 200, 100, 500],
  );
  assert.deepEqual(bedrock.requests.at(-1)?.body, {
    messages: [{ role: 'user', content: [{ text: 'Greet me.' }] }],
    system: [{ text: 'Be kind.' }],
    inferenceConfig: { maxTokens: 200 },
  });
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.call_type, 'messages');
  assert.equal(record.cost_nano, catalogCostNano(USAGE));

  const final = await h
    .anthropic()
    .messages.stream({ model: 'claude-bedrock', max_tokens: 200, messages: [{ role: 'user', content: 'Greet me.' }] })
    .finalMessage();
  assert.equal(final.content[0]?.type === 'text' ? final.content[0].text : null, 'Hello via Converse.');
  assert.deepEqual([final.usage.cache_creation_input_tokens, final.usage.output_tokens], [100, 500]);
  const streamed = (await h.records(0)).at(-1);
  assert.deepEqual([streamed?.stream, streamed?.cost_nano], [true, catalogCostNano(USAGE)]);
});

test('hostile: fields Converse cannot express are 400s naming them; embeddings refused by model', async () => {
  const openai = h.openai();
  const base = { model: 'claude-bedrock', messages: [{ role: 'user' as const, content: 'hi' }] };
  const refusals: [Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, RegExp][] = [
    [{ n: 2 }, /\bn\b/],
    [{ response_format: { type: 'json_object' } }, /response_format/],
    [{ seed: 7 }, /seed/],
    [{ presence_penalty: 0.5 }, /presence_penalty/],
    [{ reasoning_effort: 'high' }, /reasoning_effort/],
    [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }, /tool_choice/],
    [{ logprobs: true }, /logprobs/],
  ];
  for (const [extra, pattern] of refusals) {
    await assert.rejects(openai.chat.completions.create({ ...base, ...extra }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, JSON.stringify(extra));
      assert.match(err.message, pattern);
      return true;
    });
  }
  await assert.rejects(
    openai.chat.completions.create({
      model: 'claude-bedrock',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }] }],
    }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /image_url\.url/.test(err.message),
  );
  await assert.rejects(
    openai.embeddings.create({ model: 'claude-bedrock', input: 'hi' }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /model/.test(err.message),
  );
});

test('AWS errors keep their status in each client format: ThrottlingException, ValidationException, a bad signature', async () => {
  bedrock.script({ error: { status: 429, type: 'ThrottlingException', message: 'Too many tokens, please wait.' } });
  await assert.rejects(
    h.openai().chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.match(err.message, /Too many tokens/);
      assert.equal((err.error as { code?: string } | undefined)?.code, 'ThrottlingException');
      return true;
    },
  );
  bedrock.script({ error: { status: 400, type: 'ValidationException', message: 'The model returned an error.' } });
  await assert.rejects(
    h
      .anthropic()
      .messages.create({ model: 'claude-bedrock', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => {
      assert.ok(err instanceof Anthropic.BadRequestError);
      assert.deepEqual(err.error, {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'The model returned an error.' },
      });
      return true;
    },
  );
  bedrock.script({});
  await assert.rejects(
    h.openai().chat.completions.create({ model: 'bedrock-bad-secret', messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => err instanceof OpenAI.PermissionDeniedError && /signature/.test(err.message),
  );
  assert.equal(bedrock.requests.at(-1)?.signature.valid, false);
});

test('a throttlingException inside ConverseStream ends the stream with an error event in the client format', async () => {
  bedrock.script({
    content: [{ text: 'Partial answer that is cut.' }],
    usage: USAGE,
    streamException: { type: 'throttlingException', message: 'Rate exceeded mid-stream' },
  });
  const stream = await h.openai().chat.completions.create({
    model: 'claude-bedrock',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  });
  let text = '';
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })(),
    (err: unknown) => err instanceof OpenAI.APIError && /Rate exceeded mid-stream/.test(err.message),
  );
  assert.equal(text, 'Partia');
});

test('AWS settings: litellm_params first, else the standard AWS environment variables, missing ones named', () => {
  const env = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret' };
  assert.deepEqual(resolveAwsSettings({}, env), {
    region: 'eu-west-1',
    accessKeyId: 'AKIDENV',
    secretAccessKey: 'env-secret',
    sessionToken: null,
  });
  assert.deepEqual(
    resolveAwsSettings({ aws_region_name: 'us-east-1', aws_access_key_id: 'A', aws_secret_access_key: 'S' }, env),
    {
      region: 'us-east-1',
      accessKeyId: 'A',
      secretAccessKey: 'S',
      sessionToken: null,
    },
  );
  assert.deepEqual(resolveAwsSettings({ aws_access_key_id: 'A' }, {}), {
    missing: ['aws_region_name (or AWS_REGION)', 'aws_secret_access_key (or AWS_SECRET_ACCESS_KEY)'],
  });
});
