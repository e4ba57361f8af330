// Client libraries that speak the Responses API, unchanged, against the proxy: the Vercel AI SDK (whose
// default OpenAI model, `openai('gpt-4o-mini')`, calls /v1/responses; `openai.chat(...)` calls chat),
// including a tool loop, and the OpenAI Agents SDK running an agent with a function tool. Native (a fake
// OpenAI /v1/responses) and translated (Anthropic fake, and the demo config's mock deployments); every
// call's exact cost is read back from ClickHouse.
// Prices: gpt-4o-mini from genai-prices (input 0.15, cached input 0.075, output 0.6 USD per million tokens);
// claude-3-5-sonnet (input 3, cache read 0.3, cache write 3.75, output 15); groq-llama 1 and 2.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, tool as agentTool, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  type ResponsesHarness,
  type StoredCall,
  startResponsesHarness,
  waitForStoredCall,
} from './helpers/responsesHarness.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';

let h: ResponsesHarness;
let demo: TestApp;
let demoOrigin = '';
before(async () => {
  h = await startResponsesHarness();
  // The demo config `npm start` serves: its mock/… deployments, prices from the catalog.
  const demoFile = parse(readFileSync(new URL('../config.demo.yaml', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
  demo = await startTestApp(testConfig({ model_list: demoFile.model_list }));
  await demo.app.listen({ port: 0, host: '127.0.0.1' });
  const address = demo.app.server.address();
  demoOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await h.close();
  await demo.close();
});

const NATIVE_USAGE = { input: 1000, cached: 200, output: 500, reasoning: 100 };
// 800 × 0.15 + 200 × 0.075 + 500 × 0.6 = 435 USD per million tokens.
const NATIVE_COST_NANO = 435_000;
const CLAUDE_USAGE = { promptTokens: 1000, cachedTokens: 200, cacheWriteTokens: 100, completionTokens: 500 };
// 700 × 3 + 200 × 0.3 + 100 × 3.75 + 500 × 15 = 10035 USD per million tokens.
const CLAUDE_COST_NANO = 10_035_000;

const proxyOpenAI = (origin: string) => createOpenAI({ baseURL: `${origin}/v1`, apiKey: TEST_MASTER_KEY });
const requestIdOf = (headers: Record<string, string> | undefined) => headers?.['x-spend-request-id'];

/** gpt-4o-mini list prices in nano-USD per token: what a mock call's locally counted usage costs. */
const miniCost = (row: StoredCall) =>
  (row.prompt_tokens - row.cached_tokens) * 150 + row.cached_tokens * 75 + row.completion_tokens * 600;

test('AI SDK default model (Responses API), native: generateText and streamText, exact costs', async () => {
  const openai = proxyOpenAI(h.origin);
  h.native.reply = { text: 'Hello from the default model.', usage: NATIVE_USAGE };
  const result = await generateText({ model: openai('gpt-4o-mini'), system: 'Be brief.', prompt: 'Say hello' });
  assert.equal(result.text, 'Hello from the default model.');
  assert.equal(result.usage.inputTokens, 1000);
  assert.equal(h.native.requests.at(-1)?.path, '/v1/responses');
  const row = await h.stored(requestIdOf(result.response.headers));
  assert.deepEqual([row.call_type, row.cost_nano], ['responses', NATIVE_COST_NANO]);

  h.native.reply = { text: 'Streamed from the default model.', usage: NATIVE_USAGE };
  const streamed = streamText({ model: openai('gpt-4o-mini'), prompt: 'Stream hello' });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  assert.equal(text, 'Streamed from the default model.');
  assert.equal((await streamed.usage).outputTokens, 500);
  const streamRow = await h.stored(requestIdOf((await streamed.response).headers));
  assert.deepEqual([streamRow.stream, streamRow.cost_nano], [1, NATIVE_COST_NANO]);
});

test('AI SDK default model, translated to Claude: a tool loop (call, execute, answer), JSON and streamed', async () => {
  const openai = proxyOpenAI(h.origin);
  const weather = tool({
    description: 'Weather in a city',
    inputSchema: jsonSchema<{ city: string }>({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    }),
    execute: async ({ city }) => {
      // The provider's next answer is the text that uses the tool's result.
      h.chatFake.setDefaults({ text: `Sunny in ${city}.`, usage: CLAUDE_USAGE });
      return { city, celsius: 18 };
    },
  });
  h.chatFake.setDefaults({
    text: '',
    toolCall: { name: 'weather', arguments: '{"city":"Paris"}' },
    usage: CLAUDE_USAGE,
  });
  const result = await generateText({
    model: openai('claude-3-5-sonnet'),
    prompt: 'Weather in Paris?',
    tools: { weather },
    stopWhen: stepCountIs(3),
  });
  assert.equal(result.text, 'Sunny in Paris.');
  assert.equal(result.steps.length, 2);
  assert.deepEqual(
    result.steps[0]?.toolCalls.map((c) => [c.toolName, c.input]),
    [['weather', { city: 'Paris' }]],
  );
  // The second request carried the call and its result back as Anthropic tool_use / tool_result blocks.
  const sent = h.chatFake.requests.at(-1)?.body?.messages as { role: string; content: { type: string }[] }[];
  assert.deepEqual(
    sent.map((m) => [m.role, m.content.map((c) => c.type)]),
    [
      ['user', ['text']],
      ['assistant', ['tool_use']],
      ['user', ['tool_result']],
    ],
  );
  for (const step of result.steps) {
    const row = await h.stored(requestIdOf(step.response.headers));
    assert.deepEqual([row.call_type, row.provider, row.cost_nano], ['responses', 'anthropic', CLAUDE_COST_NANO]);
  }

  h.chatFake.setDefaults({ text: 'Streamed by Claude.', usage: CLAUDE_USAGE });
  const streamed = streamText({ model: openai('claude-3-5-sonnet'), prompt: 'Stream please' });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  assert.equal(text, 'Streamed by Claude.');
  assert.equal(await streamed.finishReason, 'stop');
  const row = await h.stored(requestIdOf((await streamed.response).headers));
  assert.deepEqual([row.stream, row.cost_nano], [1, CLAUDE_COST_NANO]);
});

test('AI SDK tool loop where the model also narrates, DEFAULT options: item_references resolved, JSON and streamed', async () => {
  const openai = proxyOpenAI(h.origin);
  const weather = tool({
    inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
    execute: async () => {
      h.chatFake.setDefaults({ text: 'Sunny.', usage: CLAUDE_USAGE });
      return 'sunny';
    },
  });
  const narrated = { text: 'Let me check.', toolCall: { name: 'weather', arguments: '{"city":"Paris"}' } };
  /** The second step: the SDK sent the first step's text as an item_reference, resolved before Claude. */
  const checkSecondStep = (stepBody: unknown) => {
    const input = (stepBody as { input: { type?: string; role?: string }[] }).input;
    assert.deepEqual(
      input.map((item) => item.type ?? item.role),
      ['user', 'item_reference', 'function_call', 'function_call_output'],
    );
    const sent = h.chatFake.requests.at(-1)?.body?.messages as {
      role: string;
      content: { type: string; text?: string; name?: string }[];
    }[];
    assert.deepEqual(
      sent[1]?.content.map((c) => c.type),
      ['text', 'tool_use'],
    );
    assert.equal(sent[1]?.content[0]?.text, 'Let me check.');
    assert.equal(sent[1]?.content[1]?.name, 'weather');
    assert.equal(sent[2]?.content[0]?.type, 'tool_result');
  };

  h.chatFake.setDefaults({ ...narrated, usage: CLAUDE_USAGE });
  const result = await generateText({
    model: openai('claude-3-5-sonnet'),
    prompt: 'Weather?',
    tools: { weather },
    stopWhen: stepCountIs(3),
  });
  assert.equal(result.text, 'Sunny.');
  assert.equal(result.steps.length, 2);
  checkSecondStep(result.steps[1]?.request.body);
  for (const step of result.steps) {
    const row = await h.stored(requestIdOf(step.response.headers));
    assert.deepEqual([row.call_type, row.provider, row.stream], ['responses', 'anthropic', 0]);
    assert.equal(row.cost_nano, CLAUDE_COST_NANO);
  }

  // Streamed: the items of a streamed Response are kept before its response.completed reaches the SDK.
  h.chatFake.setDefaults({ ...narrated, usage: CLAUDE_USAGE, pieces: 2 });
  const streamed = streamText({
    model: openai('claude-3-5-sonnet'),
    prompt: 'Weather?',
    tools: { weather },
    stopWhen: stepCountIs(3),
  });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  assert.equal(text, 'Let me check.Sunny.');
  const steps = await streamed.steps;
  assert.equal(steps.length, 2);
  checkSecondStep(steps[1]?.request.body);
  for (const step of steps) {
    const row = await h.stored(requestIdOf(step.response.headers));
    assert.deepEqual([row.call_type, row.stream], ['responses', 1]);
    assert.equal(row.cost_nano, CLAUDE_COST_NANO);
  }
});

test('AI SDK openai.chat(...) still calls chat completions', async () => {
  h.chatFake.setDefaults({ text: 'Chat path.', usage: { promptTokens: 1000, completionTokens: 500 } });
  const result = await generateText({ model: proxyOpenAI(h.origin).chat('groq-llama'), prompt: 'hi' });
  assert.equal(result.text, 'Chat path.');
  assert.equal(h.chatFake.requests.at(-1)?.path, '/v1/chat/completions');
  const row = await h.stored(requestIdOf(result.response.headers));
  assert.deepEqual([row.call_type, row.cost_nano], ['chat', 2_000_000]);
});

test('the demo config: the AI SDK default model answers from the mock, priced at gpt-4o-mini list prices', async () => {
  const openai = proxyOpenAI(demoOrigin);
  const result = await generateText({ model: openai('gpt-4o-mini'), prompt: 'Hello demo' });
  assert.equal(result.text, 'This is a mock reply from Spendhouse.');
  const streamed = streamText({ model: openai('gpt-4o-mini'), prompt: 'Hello stream' });
  let text = '';
  for await (const delta of streamed.textStream) text += delta;
  assert.equal(text, 'This is a mock reply from Spendhouse.');

  const stored = (requestId: string | undefined) => waitForStoredCall(demo.app.warehouse, { requestId });
  const row = await stored(requestIdOf(result.response.headers));
  assert.deepEqual([row.call_type, row.provider], ['responses', 'mock']);
  assert.equal(row.prompt_tokens, result.usage.inputTokens);
  assert.equal(row.completion_tokens, result.usage.outputTokens);
  assert.ok(row.cost_nano > 0);
  assert.equal(row.cost_nano, miniCost(row));
  const streamRow = await stored(requestIdOf((await streamed.response).headers));
  assert.equal(streamRow.completion_tokens, (await streamed.usage).outputTokens);
  assert.equal(streamRow.cost_nano, miniCost(streamRow));
});

test('OpenAI Agents SDK: an agent with a function tool runs its loop through the proxy (native and Claude)', async () => {
  setTracingDisabled(true);
  // The Agents SDK's own OpenAI provider (Responses API by default) aimed at the proxy.
  const runner = new Runner({
    modelProvider: new OpenAIProvider({ baseURL: `${h.origin}/v1`, apiKey: TEST_MASTER_KEY, useResponses: true }),
  });
  const getWeather = agentTool({
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      h.native.reply = { text: `It is sunny in ${city}.`, usage: NATIVE_USAGE };
      h.chatFake.setDefaults({ text: `Claude says sunny in ${city}.`, usage: CLAUDE_USAGE });
      return `18°C and sunny in ${city}`;
    },
  });

  const nativeBefore = h.native.requests.length;
  h.native.reply = { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }], usage: NATIVE_USAGE };
  const agent = new Agent({
    name: 'Weather',
    instructions: 'Use the tool.',
    tools: [getWeather],
    model: 'gpt-4o-mini',
  });
  const result = await runner.run(agent, 'Weather in Paris?');
  assert.equal(result.finalOutput, 'It is sunny in Paris.');
  assert.equal(h.native.requests.length - nativeBefore, 2);
  const second = h.native.requests.at(-1)?.body.input as { type?: string }[];
  assert.ok(second.some((item) => item.type === 'function_call_output'));
  assert.equal(result.state.usage.inputTokens, 2000);

  h.chatFake.setDefaults({
    text: '',
    toolCall: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
    usage: CLAUDE_USAGE,
  });
  const claude = new Agent({
    name: 'Weather',
    instructions: 'Use the tool.',
    tools: [getWeather],
    model: 'claude-3-5-sonnet',
  });
  const translated = await runner.run(claude, 'Weather in Oslo?');
  assert.equal(translated.finalOutput, 'Claude says sunny in Oslo.');
  assert.equal(translated.state.usage.inputTokens, 2000);
  // Each model call of both runs is recorded once, by the Response id the agent saw, at its exact cost.
  for (const [runResult, cost] of [
    [result, NATIVE_COST_NANO],
    [translated, CLAUDE_COST_NANO],
  ] as const) {
    assert.equal(runResult.rawResponses.length, 2);
    for (const raw of runResult.rawResponses) {
      const row = await waitForStoredCall(h.app.warehouse, { responseId: raw.responseId });
      assert.deepEqual([row.call_type, row.cost_nano], ['responses', cost]);
    }
  }
});
