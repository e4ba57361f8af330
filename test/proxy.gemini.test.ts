// Gemini behind the proxy: the OpenAI SDK (chat JSON, stream with include_usage, a tool round) and the
// Anthropic SDK (messages JSON and stream) through Spendhouse to a fake Gemini API speaking its real wire
// format (test/helpers/fakeGemini.ts, checked once against the real @google/genai SDK). Costs are checked
// against genai-prices' own calculation for the provider id the code uses (`google`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { calcPrice } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import { type FakeGemini, type GeminiUsage, startFakeGemini } from './helpers/fakeGemini.js';
import { type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';

let gemini: FakeGemini;
let h: ProxyHarness;
before(async () => {
  gemini = await startFakeGemini();
  h = await startProxyHarness(() => ({
    model_list: [
      {
        model_name: 'gemini-flash',
        litellm_params: { model: 'gemini/gemini-2.5-flash', api_key: gemini.apiKey, api_base: `${gemini.url}/v1beta` },
      },
      {
        model_name: 'gemini-bad-key',
        // A base without a version path (as @google/genai's baseUrl is written) gets /v1beta.
        litellm_params: { model: 'gemini/gemini-2.5-flash', api_key: 'wrong', api_base: gemini.url },
      },
    ],
  }));
});
after(async () => {
  await h.close();
  await gemini.close();
});

const USAGE: GeminiUsage = {
  promptTokenCount: 1000,
  cachedContentTokenCount: 200,
  candidatesTokenCount: 300,
  thoughtsTokenCount: 200,
};

/** genai-prices' own price of a Gemini usage, in nano-USD (prompt includes the cached part; thoughts are output). */
function catalogCostNano(usage: GeminiUsage): number {
  const price = calcPrice(
    {
      input_tokens: usage.promptTokenCount + (usage.toolUsePromptTokenCount ?? 0),
      cache_read_tokens: usage.cachedContentTokenCount ?? 0,
      output_tokens: usage.candidatesTokenCount + (usage.thoughtsTokenCount ?? 0),
    },
    'gemini-2.5-flash',
    { providerId: 'google' },
  );
  assert.ok(price, 'genai-prices knows gemini-2.5-flash under google');
  return Math.round(price.total_price * 1e9);
}

const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

test('the fake speaks Gemini: the real @google/genai SDK reads its JSON, stream and errors', async () => {
  gemini.script({ parts: [{ text: 'Hello from Gemini.' }], usage: USAGE });
  const ai = new GoogleGenAI({ apiKey: gemini.apiKey, httpOptions: { baseUrl: gemini.url } });
  const answer = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
  assert.equal(answer.text, 'Hello from Gemini.');
  assert.equal(answer.usageMetadata?.thoughtsTokenCount, 200);
  let streamed = '';
  for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' })) {
    streamed += chunk.text ?? '';
  }
  assert.equal(streamed, 'Hello from Gemini.');
  gemini.script({ error: { status: 429, message: 'Resource exhausted', googleStatus: 'RESOURCE_EXHAUSTED' } });
  await assert.rejects(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }), { status: 429 });
});

test('OpenAI SDK → Gemini: system, image, tools, json_schema, n, stop and sampling translated; priced from usageMetadata', async () => {
  gemini.script({ parts: [{ text: '{"color":"red"}' }], usage: USAGE });
  const schema = { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] };
  const { data, response } = await h
    .openai()
    .chat.completions.create({
      model: 'gemini-flash',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What colour?' },
            { type: 'image_url', image_url: { url: PIXEL } },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      response_format: { type: 'json_schema', json_schema: { name: 'colour', schema } },
      max_tokens: 300,
      n: 2,
      stop: 'END',
      temperature: 0.2,
      top_p: 0.9,
      user: 'cust-7',
    })
    .withResponse();
  assert.equal(data.choices.length, 2);
  assert.equal(data.choices[1]?.message.content, '{"color":"red"}');
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(
    [data.usage?.prompt_tokens, data.usage?.completion_tokens, data.usage?.prompt_tokens_details?.cached_tokens],
    [1000, 500, 200],
  );
  assert.equal(data.usage?.completion_tokens_details?.reasoning_tokens, 200);

  const upstream = gemini.requests.at(-1);
  assert.equal(upstream?.path, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(upstream?.headers['x-goog-api-key'], gemini.apiKey);
  assert.equal(upstream?.headers.authorization, undefined, "the client's Spendhouse key never reaches Gemini");
  assert.deepEqual(upstream?.body, {
    contents: [
      {
        role: 'user',
        parts: [{ text: 'What colour?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }],
      },
    ],
    systemInstruction: { parts: [{ text: 'Be brief.' }] },
    tools: [{ functionDeclarations: [{ name: 'lookup', parametersJsonSchema: { type: 'object', properties: {} } }] }],
    generationConfig: {
      maxOutputTokens: 300,
      temperature: 0.2,
      topP: 0.9,
      candidateCount: 2,
      stopSequences: ['END'],
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    },
  });

  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, catalogCostNano(USAGE));
  assert.equal(record.cost_nano, 1_496_000);
  assert.deepEqual(
    [record.provider, record.model, record.upstream_model, record.cost_status, record.customer_id],
    ['gemini', 'gemini-flash', 'gemini-2.5-flash', 'priced', 'cust-7'],
  );
  assert.deepEqual(
    [record.prompt_tokens, record.completion_tokens, record.cached_tokens, record.reasoning_tokens],
    [1000, 500, 200, 200],
  );
  assert.equal(record.response_id, data.id);
  assert.match(String(record.response_id), /^gemini-resp-\d+$/);
});

test('OpenAI SDK stream with include_usage: chunks, the usage chunk and the record from the final usageMetadata', async () => {
  gemini.script({ parts: [{ text: 'Thinking…', thought: true }, { text: 'Streaming from Gemini.' }], usage: USAGE });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({
      model: 'gemini-flash',
      messages: [{ role: 'user', content: 'Say it.' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  let text = '';
  let reasoning = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    reasoning += (choice?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    finish = choice?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'Streaming from Gemini.');
  assert.equal(reasoning, 'Thinking…');
  assert.equal(finish, 'stop');
  assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [1000, 500]);
  assert.equal(gemini.requests.at(-1)?.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  assert.equal(gemini.requests.at(-1)?.query, '?alt=sse');

  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, catalogCostNano(USAGE));
  assert.equal(record.stream, true);
  assert.deepEqual([record.cached_tokens, record.reasoning_tokens, record.usage_estimated], [200, 200, false]);
});

test('a tool round: functionCall becomes tool_calls (thought signature kept in the id), tool results functionResponse', async () => {
  gemini.script({
    parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLTE=' }],
    usage: USAGE,
  });
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
  ];
  const first = await h.openai().chat.completions.create({
    model: 'gemini-flash',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools,
    tool_choice: 'required',
  });
  const call = first.choices[0]?.message.tool_calls?.[0];
  assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
  assert.ok(call && call.type === 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.deepEqual(gemini.requests.at(-1)?.body.toolConfig, { functionCallingConfig: { mode: 'ANY' } });

  gemini.script({ parts: [{ text: 'Sunny.' }], usage: USAGE });
  const second = await h.openai().chat.completions.create({
    model: 'gemini-flash',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '18°C, sunny' },
    ],
    tools,
  });
  assert.equal(second.choices[0]?.message.content, 'Sunny.');
  assert.deepEqual(gemini.requests.at(-1)?.body.contents, [
    { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
    {
      role: 'model',
      parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLTE=' }],
    },
    { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { content: '18°C, sunny' } } }] },
  ]);
  const records = await h.records(0);
  assert.ok(records.every((r) => r.provider === 'gemini'));
});

test('Anthropic SDK → Gemini: messages JSON and stream translated through chat, usage and cost exact', async () => {
  gemini.script({ parts: [{ text: 'Bonjour from Gemini.' }], usage: USAGE });
  const { data: message, response } = await h
    .anthropic()
    .messages.create({
      model: 'gemini-flash',
      max_tokens: 200,
      system: 'Be French.',
      messages: [{ role: 'user', content: 'Greet me.' }],
    })
    .withResponse();
  assert.equal(message.content[0]?.type === 'text' ? message.content[0].text : null, 'Bonjour from Gemini.');
  assert.equal(message.stop_reason, 'end_turn');
  assert.deepEqual(
    [message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens],
    [800, 200, 500],
  );
  assert.deepEqual(gemini.requests.at(-1)?.body, {
    contents: [{ role: 'user', parts: [{ text: 'Greet me.' }] }],
    systemInstruction: { parts: [{ text: 'Be French.' }] },
    generationConfig: { maxOutputTokens: 200 },
  });
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.equal(record.call_type, 'messages');
  assert.equal(record.cost_nano, catalogCostNano(USAGE));

  const stream = h.anthropic().messages.stream({
    model: 'gemini-flash',
    max_tokens: 200,
    messages: [{ role: 'user', content: 'Greet me.' }],
  });
  const final = await stream.finalMessage();
  assert.equal(final.content[0]?.type === 'text' ? final.content[0].text : null, 'Bonjour from Gemini.');
  assert.deepEqual([final.usage.output_tokens, final.usage.cache_read_input_tokens], [500, 200]);
  const streamed = (await h.records(0)).at(-1);
  assert.equal(streamed?.stream, true);
  assert.equal(streamed?.cost_nano, catalogCostNano(USAGE));
});

test('hostile: fields Gemini cannot express are 400s naming them; embeddings refused by model', async () => {
  const openai = h.openai();
  const base = { model: 'gemini-flash', messages: [{ role: 'user' as const, content: 'hi' }] };
  await assert.rejects(openai.chat.completions.create({ ...base, logit_bias: { '50256': -100 } }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.match(err.message, /logit_bias/);
    return true;
  });
  await assert.rejects(
    openai.chat.completions.create({
      model: 'gemini-flash',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
    }),
    (err: unknown) =>
      err instanceof OpenAI.BadRequestError && /messages\[0\]\.content\[0\]\.image_url\.url/.test(err.message),
  );
  await assert.rejects(
    openai.chat.completions.create({ ...base, parallel_tool_calls: false }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /parallel_tool_calls/.test(err.message),
  );
  await assert.rejects(
    openai.chat.completions.create({
      model: 'gemini-flash',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'tool', tool_call_id: 'call_unknown', content: '42' },
      ],
    }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /messages\[1\]\.tool_call_id/.test(err.message),
  );
  await assert.rejects(
    openai.embeddings.create({ model: 'gemini-flash', input: 'hi' }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /model/.test(err.message),
  );
});

test('provider errors keep their status in each client format: 400, 429, 500 and a bad key', async () => {
  const cases = [
    { status: 400, googleStatus: 'INVALID_ARGUMENT', type: OpenAI.BadRequestError },
    { status: 429, googleStatus: 'RESOURCE_EXHAUSTED', type: OpenAI.RateLimitError },
    { status: 500, googleStatus: 'INTERNAL', type: OpenAI.InternalServerError },
  ];
  for (const c of cases) {
    gemini.script({ error: { status: c.status, message: `gemini says ${c.status}`, googleStatus: c.googleStatus } });
    await assert.rejects(
      h.openai().chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => {
        assert.ok(err instanceof c.type, `status ${c.status}`);
        assert.equal(err.status, c.status);
        assert.match(err.message, new RegExp(`gemini says ${c.status}`));
        assert.equal((err.error as { code?: string } | undefined)?.code, c.googleStatus);
        return true;
      },
    );
  }
  gemini.script({ error: { status: 429, message: 'slow down', googleStatus: 'RESOURCE_EXHAUSTED' } });
  await assert.rejects(
    h
      .anthropic()
      .messages.create({ model: 'gemini-flash', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.deepEqual(err.error, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
      return true;
    },
  );
  gemini.script({});
  await assert.rejects(
    h.openai().chat.completions.create({ model: 'gemini-bad-key', messages: [{ role: 'user', content: 'hi' }] }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && /API key not valid/.test(err.message),
  );
});

test("the api-key header (Azure OpenAI SDKs' form) authenticates like Authorization: Bearer", async () => {
  gemini.script({ parts: [{ text: 'Keyed by api-key.' }], usage: USAGE });
  const call = (headers: Record<string, string>) =>
    fetch(`${h.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gemini-flash', messages: [{ role: 'user', content: 'hi' }] }),
    });
  const ok = await call({ 'api-key': TEST_MASTER_KEY });
  assert.equal(ok.status, 200);
  const answer = (await ok.json()) as OpenAI.ChatCompletion;
  assert.equal(answer.choices[0]?.message.content, 'Keyed by api-key.');
  const record = await h.record(ok.headers.get('x-spend-request-id'));
  assert.equal(record.cost_nano, catalogCostNano(USAGE));
  assert.equal((await call({ 'api-key': 'sk-not-a-key' })).status, 401);
});

test('n = 2 streamed: one choice per candidate by index; tool-use prompt tokens counted as input and priced', async () => {
  const usage: GeminiUsage = { promptTokenCount: 400, toolUsePromptTokenCount: 100, candidatesTokenCount: 60 };
  gemini.script({ parts: [{ text: 'Twice over.' }], usage });
  const { data: stream, response } = await h
    .openai()
    .chat.completions.create({
      model: 'gemini-flash',
      messages: [{ role: 'user', content: 'Say it twice.' }],
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  const texts = ['', ''];
  let reported: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? '';
    if (chunk.usage) reported = chunk.usage;
  }
  assert.deepEqual(texts, ['Twice over.', 'Twice over.']);
  assert.deepEqual([reported?.prompt_tokens, reported?.completion_tokens], [500, 60]);
  const record = await h.record(response.headers.get('x-spend-request-id'));
  assert.deepEqual([record.prompt_tokens, record.completion_tokens], [500, 60]);
  assert.equal(record.cost_nano, catalogCostNano(usage));
});
