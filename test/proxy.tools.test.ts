// Tools, structured output and images through both translations, JSON and streamed, with the real SDKs:
// the `openai` client on an Anthropic-protocol deployment (tool_use ⇄ tool_calls, two parallel calls,
// input_json_delta ⇄ argument deltas, a tool-result round trip, response_format json_schema ⇄
// output_config.format, image data/http URLs ⇄ base64/url sources, include_usage honoured) and the
// `@anthropic-ai/sdk` client on an OpenAI-protocol deployment (the reverse), `n > 1` priced on its real
// usage, and every field the target cannot express refused with a 400 naming it. Each answer is checked
// and so is the cost stored in ClickHouse: both deployments are priced 1,000 nano-USD per input token and
// 2,000 per output token, so a call costs input × 1000 + output × 2000.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { costOf, type ScriptedHarness, startScriptedHarness } from './helpers/scriptedHarness.js';
import type { ScriptedAnswer, ScriptedProvider } from './helpers/scriptedProvider.js';

let h: ScriptedHarness;
let provider: ScriptedProvider;
before(async () => {
  h = await startScriptedHarness();
  provider = h.provider;
});
after(async () => h.close());

const lastBody = () => provider.requests.at(-1)?.body ?? {};

async function assertCost(response: Response, answer: ScriptedAnswer): Promise<void> {
  const row = await h.stored({ requestId: response.headers.get('x-spend-request-id') });
  assert.equal(row.cost_nano, costOf(answer));
  assert.deepEqual([row.prompt_tokens, row.completion_tokens], [answer.usage.input, answer.usage.output]);
  assert.equal(row.usage_estimated, 0);
}

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const TWO_CALLS: ScriptedAnswer = {
  text: 'Checking both.',
  toolCalls: [
    { name: 'get_weather', arguments: '{"city":"Paris"}' },
    { name: 'get_weather', arguments: '{"city":"Oslo"}' },
  ],
  usage: { input: 120, output: 40 },
};
const CITY_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, celsius: { type: 'number' } },
  required: ['city', 'celsius'],
  additionalProperties: false,
};

test('openai → Claude: two parallel tool_use blocks become two tool_calls (JSON), tools and choice translated', async () => {
  provider.answer(TWO_CALLS);
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
      tools: [{ ...WEATHER_TOOL, function: { ...WEATHER_TOOL.function, strict: true } }],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    })
    .withResponse();
  const message = data.choices[0]?.message;
  assert.equal(data.choices[0]?.finish_reason, 'tool_calls');
  assert.equal(message?.content, 'Checking both.');
  const calls = (message?.tool_calls ?? []).map((c) => (c.type === 'function' ? c.function : null));
  assert.deepEqual(calls, [
    { name: 'get_weather', arguments: '{"city":"Paris"}' },
    { name: 'get_weather', arguments: '{"city":"Oslo"}' },
  ]);
  assert.deepEqual(
    message?.tool_calls?.map((c) => c.id),
    ['toolu_s1_0', 'toolu_s1_1'],
  );
  assert.deepEqual(lastBody().tools, [
    {
      name: 'get_weather',
      description: 'Weather in a city',
      input_schema: WEATHER_TOOL.function.parameters,
      strict: true,
    },
  ]);
  assert.deepEqual(lastBody().tool_choice, { type: 'auto' });
  await assertCost(response, TWO_CALLS);
});

test('openai → Claude streamed: input_json_delta becomes argument deltas per call index; usage only when asked', async () => {
  provider.answer(TWO_CALLS);
  const ask = {
    model: 'claude',
    messages: [{ role: 'user' as const, content: 'Weather in Paris and Oslo?' }],
    tools: [WEATHER_TOOL],
    parallel_tool_calls: false,
    stream: true as const,
  };
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({ ...ask, stream_options: { include_usage: true } })
    .withResponse();
  const args = ['', ''];
  const ids: string[] = [];
  let argumentDeltas = 0;
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
    for (const call of choice.delta.tool_calls ?? []) {
      if (call.id) ids[call.index] = call.id;
      if (call.function?.arguments) {
        args[call.index] += call.function.arguments;
        argumentDeltas += 1;
      }
    }
  }
  assert.equal(text, 'Checking both.');
  assert.deepEqual(args, ['{"city":"Paris"}', '{"city":"Oslo"}']);
  assert.equal(ids.length, 2);
  assert.ok(argumentDeltas >= 8, `arguments arrive as deltas (${argumentDeltas})`);
  assert.equal(finish, 'tool_calls');
  assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [120, 40]);
  // parallel_tool_calls: false → Anthropic's disable_parallel_tool_use.
  assert.deepEqual(lastBody().tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  await assertCost(response, TWO_CALLS);

  // Without include_usage the client gets no usage chunk, and the call is priced all the same.
  const { data: quiet, response: quietResponse } = await h.openai().chat.completions.create(ask).withResponse();
  for await (const chunk of quiet) assert.equal(chunk.usage ?? null, null);
  await assertCost(quietResponse, TWO_CALLS);

  // The SDK's own stream helper assembles the parallel calls.
  const final = await h.openai().chat.completions.stream(ask).finalChatCompletion();
  const assembled = final.choices[0]?.message.tool_calls?.map((c) => (c.type === 'function' ? c.function : null));
  assert.deepEqual(assembled, [
    { name: 'get_weather', arguments: '{"city":"Paris"}' },
    { name: 'get_weather', arguments: '{"city":"Oslo"}' },
  ]);
});

test('openai → Claude: a tool-result round trip (two results in one user turn) and the final answer', async () => {
  const answer: ScriptedAnswer = { text: 'Paris 18°C, Oslo -2°C.', usage: { input: 300, output: 12 } };
  provider.answer(answer);
  const calls = [
    { id: 'toolu_a', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'toolu_b', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
  ];
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude',
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        { role: 'assistant', content: 'Checking both.', tool_calls: calls },
        { role: 'tool', tool_call_id: 'toolu_a', content: '18°C' },
        { role: 'tool', tool_call_id: 'toolu_b', content: [{ type: 'text', text: '-2°C' }] },
      ],
    })
    .withResponse();
  assert.equal(data.choices[0]?.message.content, 'Paris 18°C, Oslo -2°C.');
  assert.deepEqual(lastBody().messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Oslo?' }] },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking both.' },
        { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: { city: 'Oslo' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: [{ type: 'text', text: '18°C' }] },
        { type: 'tool_result', tool_use_id: 'toolu_b', content: [{ type: 'text', text: '-2°C' }] },
      ],
    },
  ]);
  await assertCost(response, answer);
});

test('openai → Claude: response_format json_schema → output_config.format; the JSON comes back as content', async () => {
  const answer: ScriptedAnswer = { text: '{"city":"Paris","celsius":18}', usage: { input: 80, output: 11 } };
  provider.answer(answer);
  const response_format = {
    type: 'json_schema' as const,
    json_schema: { name: 'weather', strict: true, schema: CITY_SCHEMA },
  };
  const ask = { model: 'claude', messages: [{ role: 'user' as const, content: 'Paris?' }], response_format };
  const { data, response } = await h.openai().chat.completions.create(ask).withResponse();
  assert.deepEqual(JSON.parse(data.choices[0]?.message.content ?? ''), { city: 'Paris', celsius: 18 });
  assert.deepEqual(lastBody().output_config, { format: { type: 'json_schema', schema: CITY_SCHEMA } });
  assert.equal(lastBody().tools, undefined);
  await assertCost(response, answer);

  const { data: stream, response: streamed } = await h
    .openai()
    .chat.completions.create({ ...ask, stream: true })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  assert.deepEqual(JSON.parse(text), { city: 'Paris', celsius: 18 });
  await assertCost(streamed, answer);
});

test("the SDKs' own zod helpers: openai chat.completions.parse → Claude, anthropic messages.parse → GPT", async () => {
  const City = z.object({ city: z.string(), celsius: z.number() });
  const answer: ScriptedAnswer = { text: '{"city":"Rome","celsius":25}', usage: { input: 60, output: 10 } };
  provider.answer(answer);
  const { data, response } = await h
    .openai()
    .chat.completions.parse({
      model: 'claude',
      messages: [{ role: 'user', content: 'Rome?' }],
      response_format: zodResponseFormat(City, 'city'),
    })
    .withResponse();
  assert.deepEqual(data.choices[0]?.message.parsed, { city: 'Rome', celsius: 25 });
  assert.equal((lastBody().output_config as { format: { type: string } }).format.type, 'json_schema');
  await assertCost(response, answer);

  const parsed = await h.anthropic().messages.parse({
    model: 'gpt',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'Rome?' }],
    output_config: { format: zodOutputFormat(City) },
  });
  assert.deepEqual(parsed.parsed_output, { city: 'Rome', celsius: 25 });
  assert.equal((lastBody().response_format as { type: string }).type, 'json_schema');
  const row = await h.stored({ responseId: provider.responseIds.at(-1) });
  assert.equal(row.cost_nano, costOf(answer));
});

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

test('images both ways: data and http URLs ⇄ base64 and url sources', async () => {
  const answer: ScriptedAnswer = { text: 'Two pixels.', usage: { input: 900, output: 4 } };
  provider.answer(answer);
  const { response } = await h
    .openai()
    .chat.completions.create({
      model: 'claude',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } },
          ],
        },
      ],
    })
    .withResponse();
  assert.deepEqual((lastBody().messages as { content: unknown }[])[0]?.content, [
    { type: 'text', text: 'Compare' },
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
  ]);
  await assertCost(response, answer);

  const { data: message, response: back } = await h
    .anthropic()
    .messages.create({
      model: 'gpt',
      max_tokens: 20,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'Compare' },
          ],
        },
      ],
    })
    .withResponse();
  assert.deepEqual(message.content, [{ type: 'text', text: 'Two pixels.' }]);
  assert.deepEqual((lastBody().messages as { content: unknown }[])[0]?.content, [
    { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
    { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
    { type: 'text', text: 'Compare' },
  ]);
  await assertCost(back, answer);
});

const ANTHROPIC_TOOL = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

test('anthropic → GPT: parallel tool_calls become tool_use blocks, JSON and streamed with input_json_delta', async () => {
  provider.answer(TWO_CALLS);
  const ask = {
    model: 'gpt',
    max_tokens: 100,
    tools: [ANTHROPIC_TOOL],
    tool_choice: { type: 'any' as const, disable_parallel_tool_use: false },
    messages: [{ role: 'user' as const, content: 'Weather in Paris and Oslo?' }],
  };
  const { data: message, response } = await h.anthropic().messages.create(ask).withResponse();
  assert.equal(message.stop_reason, 'tool_use');
  assert.deepEqual(
    message.content.map((b) =>
      b.type === 'tool_use' ? [b.type, b.name, b.input] : [b.type, b.type === 'text' ? b.text : null],
    ),
    [
      ['text', 'Checking both.'],
      ['tool_use', 'get_weather', { city: 'Paris' }],
      ['tool_use', 'get_weather', { city: 'Oslo' }],
    ],
  );
  assert.deepEqual(lastBody().tools, [
    {
      type: 'function',
      function: { name: 'get_weather', description: 'Weather in a city', parameters: ANTHROPIC_TOOL.input_schema },
    },
  ]);
  assert.equal(lastBody().tool_choice, 'required');
  assert.deepEqual([message.usage.input_tokens, message.usage.output_tokens], [120, 40]);
  await assertCost(response, TWO_CALLS);

  const stream = h.anthropic().messages.stream(ask);
  let jsonDeltas = 0;
  stream.on('streamEvent', (event) => {
    if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') jsonDeltas += 1;
  });
  const final = await stream.finalMessage();
  assert.deepEqual(
    final.content.map((b) => (b.type === 'tool_use' ? b.input : b.type)),
    ['text', { city: 'Paris' }, { city: 'Oslo' }],
  );
  assert.ok(jsonDeltas >= 8, `arguments arrive as input_json_delta events (${jsonDeltas})`);
  assert.equal(final.stop_reason, 'tool_use');
  await assertCost((await stream.withResponse()).response, TWO_CALLS);

  // A server that repeats the call's id on every delta still yields one tool_use block per call.
  provider.answer({ ...TWO_CALLS, repeatToolCallIds: true });
  const repeated = await h.anthropic().messages.stream(ask).finalMessage();
  assert.deepEqual(
    repeated.content.map((b) => (b.type === 'tool_use' ? b.input : b.type)),
    ['text', { city: 'Paris' }, { city: 'Oslo' }],
  );
});

test('anthropic → GPT: output_config.format → response_format json_schema (strict); JSON text back', async () => {
  const answer: ScriptedAnswer = { text: '{"city":"Oslo","celsius":-2}', usage: { input: 70, output: 10 } };
  provider.answer(answer);
  const { data: message, response } = await h
    .anthropic()
    .messages.create({
      model: 'gpt',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Oslo?' }],
      output_config: { format: { type: 'json_schema', schema: CITY_SCHEMA } },
    })
    .withResponse();
  const block = message.content[0];
  assert.deepEqual(JSON.parse(block?.type === 'text' ? block.text : ''), { city: 'Oslo', celsius: -2 });
  assert.deepEqual(lastBody().response_format, {
    type: 'json_schema',
    json_schema: { name: 'response', schema: CITY_SCHEMA, strict: true },
  });
  await assertCost(response, answer);
});

test('n > 1 on an OpenAI deployment: every choice returned and priced on the reported usage', async () => {
  const answer: ScriptedAnswer = { text: 'One.', moreChoices: ['Two.', 'Three.'], usage: { input: 30, output: 9 } };
  provider.answer(answer);
  const ask = { model: 'gpt', n: 3, messages: [{ role: 'user' as const, content: 'Count' }] };
  const { data, response } = await h.openai().chat.completions.create(ask).withResponse();
  assert.deepEqual(
    data.choices.map((c) => c.message.content),
    ['One.', 'Two.', 'Three.'],
  );
  assert.equal(lastBody().n, 3);
  await assertCost(response, answer);
  const { data: stream, response: streamed } = await h
    .openai()
    .chat.completions.create({ ...ask, stream: true })
    .withResponse();
  const texts: string[] = [];
  for await (const chunk of stream)
    for (const c of chunk.choices) texts[c.index] = (texts[c.index] ?? '') + (c.delta.content ?? '');
  assert.deepEqual(texts, ['One.', 'Two.', 'Three.']);
  await assertCost(streamed, answer);
});

test('openai → Claude: what Anthropic cannot express is a 400 naming the field, recorded unpriced and not forwarded', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const cases: [Record<string, unknown>, string][] = [
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ logit_bias: { '42': 5 } }, 'logit_bias'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
    [{ seed: 7 }, 'seed'],
    [{ modalities: ['text', 'audio'] }, 'modalities'],
    [{ functions: [{ name: 'f', parameters: {} }] }, 'functions'],
    [{ reasoning_effort: 'high' }, 'reasoning_effort'],
    [{ response_format: { type: 'json_object' } }, 'response_format.type'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
    [{ tools: [{ type: 'custom', custom: { name: 'grep' } }] }, 'tools[0].type'],
    [{ tool_choice: 'required' }, 'tool_choice'],
    [{ tools: [WEATHER_TOOL], tool_choice: 'sometimes' }, 'tool_choice'],
  ];
  const upstreamBefore = provider.requests.length;
  const refused: (string | null | undefined)[] = [];
  for (const [extra, param] of cases) {
    const err = await h
      .openai()
      .chat.completions.create({ model: 'claude', messages, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, `${param}: ${String(err)}`);
    assert.equal(err.param, param);
    refused.push(err.headers?.get('x-spend-request-id'));
  }
  assert.equal(provider.requests.length, upstreamBefore);
  const rows = await Promise.all(refused.map((requestId) => h.stored({ requestId })));
  assert.deepEqual(
    rows.map((r) => [r.status, r.cost_nano]),
    refused.map(() => [400, 0]),
  );
  // Defaults some clients always send are accepted: they ask for nothing Claude lacks.
  provider.answer({ text: 'ok', usage: { input: 5, output: 1 } });
  const ok = await h.openai().chat.completions.create({
    model: 'claude',
    messages,
    n: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    logprobs: false,
    response_format: { type: 'text' },
  });
  assert.equal(ok.choices[0]?.message.content, 'ok');
});

test('anthropic → GPT: what OpenAI-compatible models cannot express is a 400 naming the field', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ top_k: 5 }, /^top_k:/],
    [{ thinking: { type: 'enabled', budget_tokens: 2048 } }, /^thinking\.type:/],
    [{ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, /^tools\[0\]\.type:/],
    [{ tools: [{ name: 'no_schema' }] }, /^tools\[0\]\.input_schema:/],
    [{ output_config: { effort: 'max' } }, /^output_config\.effort:/],
    [{ tool_choice: { type: 'any' } }, /^tool_choice: needs tools/],
    [{ service_tier: 'standard_only' }, /^service_tier:/],
    [
      {
        messages: [
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'shot', input: {} }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 't1',
                content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }],
              },
            ],
          },
        ],
      },
      /^messages\[1\]\.content\[0\]\.content\[0\]\.type:/,
    ],
  ];
  const upstreamBefore = provider.requests.length;
  for (const [extra, message] of cases) {
    const err = await h
      .anthropic()
      .messages.create({
        model: 'gpt',
        max_tokens: 10,
        messages,
        ...extra,
      } as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.BadRequestError, String(err));
    assert.match((err.error as { error: { message: string } }).error.message, message);
  }
  assert.equal(provider.requests.length, upstreamBefore);
});
