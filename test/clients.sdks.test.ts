// The client matrix teams actually use, unchanged, against the proxy's translations: the Vercel AI SDK
// (`ai` with `@ai-sdk/openai` `.chat(...)` on a Claude deployment and `@ai-sdk/anthropic` on an OpenAI
// deployment) for generateText, streamText, generateObject with a zod schema and a tool loop (stopWhen),
// and LangChain's ChatOpenAI (invoke, stream, bindTools) on Claude. The fake provider speaks the real wire
// formats; each answer is checked and so is every call's cost as stored in ClickHouse (1,000 nano-USD per
// input token, 2,000 per output token on both deployments), found by the provider's response id.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, type LanguageModel, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import type { StoredCall } from './helpers/responsesHarness.js';
import { costOf, type ScriptedHarness, startScriptedHarness } from './helpers/scriptedHarness.js';
import type { ScriptedAnswer, ScriptedProvider, ScriptedRequest } from './helpers/scriptedProvider.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

// The Anthropic provider warns that `gpt` is not a Claude model it knows (its output limit); that is the point.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

let h: ScriptedHarness;
let provider: ScriptedProvider;
let viaOpenAI: LanguageModel;
let viaAnthropic: LanguageModel;
before(async () => {
  h = await startScriptedHarness();
  provider = h.provider;
  viaOpenAI = createOpenAI({ baseURL: `${h.origin}/v1`, apiKey: TEST_MASTER_KEY }).chat('claude');
  viaAnthropic = createAnthropic({ baseURL: `${h.origin}/v1`, apiKey: TEST_MASTER_KEY })('gpt');
});
after(async () => h.close());

/** The ClickHouse rows of the calls answered since `before` (by response id), each at its exact cost. */
async function assertCosts(before: number, answers: ScriptedAnswer[]): Promise<StoredCall[]> {
  const ids = provider.responseIds.slice(before);
  assert.equal(ids.length, answers.length, 'one provider call per answer');
  const rows = await Promise.all(ids.map((responseId) => h.stored({ responseId })));
  assert.deepEqual(
    rows.map((r) => [r.status, r.cost_nano, r.usage_estimated]),
    answers.map((a) => [200, costOf(a), 0]),
  );
  return rows;
}

const HELLO: ScriptedAnswer = { text: 'Hello from the fake provider.', usage: { input: 50, output: 6 } };
const CLIENTS: [string, () => LanguageModel][] = [
  ['@ai-sdk/openai .chat → Claude', () => viaOpenAI],
  ['@ai-sdk/anthropic → GPT', () => viaAnthropic],
];

for (const [name, model] of CLIENTS) {
  test(`Vercel AI SDK ${name}: generateText and streamText`, async () => {
    provider.answer(HELLO);
    const before = provider.responseIds.length;
    const generated = await generateText({ model: model(), prompt: 'Say hello', maxRetries: 0 });
    assert.equal(generated.text, HELLO.text);
    assert.deepEqual([generated.usage.inputTokens, generated.usage.outputTokens], [50, 6]);
    const streamed = streamText({ model: model(), prompt: 'Say hello', maxRetries: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(text, HELLO.text);
    assert.equal((await streamed.usage).outputTokens, 6);
    const records = await assertCosts(before, [HELLO, HELLO]);
    assert.deepEqual(
      records.map((r) => r.stream),
      [0, 1],
    );
  });

  test(`Vercel AI SDK ${name}: generateObject with a zod schema`, async () => {
    const weather = { city: 'Paris', celsius: 18 };
    const answer: ScriptedAnswer = { text: JSON.stringify(weather), usage: { input: 90, output: 12 } };
    provider.answer((request) => objectAnswer(request, answer));
    const before = provider.responseIds.length;
    const { object } = await generateObject({
      model: model(),
      schema: z.object({ city: z.string(), celsius: z.number() }),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
    });
    assert.deepEqual(object, weather);
    const upstream = provider.requests.at(-1)?.body ?? {};
    if (model() === viaOpenAI) {
      // response_format json_schema → Anthropic's native structured output.
      assert.equal((upstream.output_config as { format: { type: string } }).format.type, 'json_schema');
      await assertCosts(before, [answer]);
      return;
    }
    // The Anthropic SDK's default for an unknown model is its forced `json` tool (→ a required function)…
    assert.deepEqual([upstream.tool_choice, upstream.parallel_tool_calls], ['required', false]);
    // …and its native mode (output_config.format) becomes response_format json_schema.
    const native = await generateObject({
      model: model(),
      schema: z.object({ city: z.string(), celsius: z.number() }),
      prompt: 'Weather in Paris?',
      providerOptions: { anthropic: { structuredOutputMode: 'outputFormat' } },
      maxRetries: 0,
    });
    assert.deepEqual(native.object, weather);
    const format = provider.requests.at(-1)?.body.response_format as { type: string; json_schema: { strict: boolean } };
    assert.deepEqual([format.type, format.json_schema.strict], ['json_schema', true]);
    await assertCosts(before, [answer, answer]);
  });

  test(`Vercel AI SDK ${name}: a tool loop (tool call, tool result, answer) with stopWhen`, async () => {
    const call: ScriptedAnswer = {
      toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }],
      usage: { input: 100, output: 15 },
    };
    const final: ScriptedAnswer = { text: 'It is -2°C in Oslo.', usage: { input: 160, output: 9 } };
    provider.answer((request) => (hasToolResult(request) ? final : call));
    const before = provider.responseIds.length;
    let executed: unknown = null;
    const tools = {
      get_weather: tool({
        description: 'Weather in a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async (input) => {
          executed = input;
          return { celsius: -2 };
        },
      }),
    };
    const result = await generateText({
      model: model(),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.deepEqual(executed, { city: 'Oslo' });
    assert.equal(result.text, final.text);
    assert.equal(result.steps.length, 2);

    // Streamed too: the tool call's arguments arrive as deltas.
    executed = null;
    const streamed = streamText({
      model: model(),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    assert.equal(text, final.text);
    assert.deepEqual(executed, { city: 'Oslo' });
    await assertCosts(before, [call, final, call, final]);
  });
}

/** Structured output asked natively (a schema in the body) or as a forced `json` tool (older SDK modes). */
function objectAnswer(request: ScriptedRequest, answer: ScriptedAnswer): ScriptedAnswer {
  const tools = request.body.tools;
  if (Array.isArray(tools) && tools.length === 1) {
    const only = tools[0] as { name?: string; function?: { name?: string } };
    const name = only.function?.name ?? only.name ?? '';
    return { toolCalls: [{ name, arguments: answer.text ?? '' }], usage: answer.usage };
  }
  return answer;
}

function hasToolResult(request: ScriptedRequest): boolean {
  const messages = JSON.stringify(request.body.messages);
  return messages.includes('"tool_result"') || messages.includes('"role":"tool"');
}

test('LangChain ChatOpenAI → Claude: invoke, stream and bindTools', async () => {
  const chat = new ChatOpenAI({
    model: 'claude',
    apiKey: TEST_MASTER_KEY,
    configuration: { baseURL: `${h.origin}/v1` },
    maxRetries: 0,
  });
  provider.answer(HELLO);
  const before = provider.responseIds.length;
  const invoked = await chat.invoke('Say hello');
  assert.equal(invoked.content, HELLO.text);
  assert.equal(invoked.usage_metadata?.output_tokens, 6);

  let streamed: AIMessageChunk | undefined;
  for await (const chunk of await chat.stream('Say hello')) streamed = streamed ? streamed.concat(chunk) : chunk;
  assert.ok(streamed instanceof AIMessageChunk);
  assert.equal(streamed.content, HELLO.text);
  assert.equal(streamed.usage_metadata?.input_tokens, 50);

  const call: ScriptedAnswer = {
    toolCalls: [
      { name: 'get_weather', arguments: '{"city":"Paris"}' },
      { name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ],
    usage: { input: 100, output: 30 },
  };
  provider.answer(call);
  const withTools = chat.bindTools([
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather in a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
  ]);
  const asked = await withTools.invoke('Weather in Paris and Oslo?');
  assert.deepEqual(
    asked.tool_calls?.map((c) => [c.name, c.args]),
    [
      ['get_weather', { city: 'Paris' }],
      ['get_weather', { city: 'Oslo' }],
    ],
  );
  let toolChunks: AIMessageChunk | undefined;
  for await (const chunk of await withTools.stream('Weather in Paris and Oslo?')) {
    toolChunks = toolChunks ? toolChunks.concat(chunk) : chunk;
  }
  assert.deepEqual(
    toolChunks?.tool_calls?.map((c) => c.args),
    [{ city: 'Paris' }, { city: 'Oslo' }],
  );
  await assertCosts(before, [HELLO, HELLO, call, call]);
});
