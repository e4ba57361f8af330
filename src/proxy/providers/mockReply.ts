// Replies of a fake LLM in both wire formats (OpenAI chat/completions/embeddings, Anthropic Messages), as
// JSON or as the SSE frames a streaming provider sends. Shared by the test upstream (src/mock/fakeUpstream.ts,
// which adds latency and errors) and the proxy's in-process `mock` provider, so both speak the same bytes.
import { randomBytes } from 'node:crypto';
import { badRequest } from '../../errors.js';
import { anthropicUsageBody, openAIUsageBody, type TokenUsage, ZERO_USAGE } from '../../pricing/usage.js';
import { anthropicFrame, OPENAI_DONE_FRAME, openAIFrame } from '../sse.js';
import { countPromptTokens, countTextTokens, EVENT_LOOP_EXACT_CHARS, truncateToTokens } from '../tokens.js';

export type WireEndpoint = 'chat' | 'completion' | 'embedding' | 'messages';

export interface ReplyScenario {
  /** The assistant's text (split into `pieces` deltas when streamed). */
  text: string;
  /** Reported token counts; unset counts are computed from the request and the text. */
  usage?: Partial<TokenUsage>;
  /** Makes the reply a tool call (chat and messages). */
  toolCall?: { name: string; arguments: string };
  /** false: streams never carry usage (a provider that ignores `include_usage`). Default true. */
  streamUsage?: boolean;
  /** Number of content deltas a stream is split into (default: one per word, at most MAX_STREAM_DELTAS). */
  pieces?: number;
  /**
   * The request's output limit (max_tokens): the text is cut to that many tokens and the reply ends with
   * finish_reason `length` / stop_reason `max_tokens`, as a provider's would. Unset: the text is sent whole.
   */
  maxTokens?: number;
}

export type MockReply = { stream: false; body: unknown } | { stream: true; frames: string[] };

export const DEFAULT_MOCK_TEXT = 'This is a mock reply from Spendhouse.';
const DEFAULT_EMBEDDING_DIMENSIONS = 1536;
/**
 * The mock builds its whole answer in memory on the proxy's event loop: an embedding answer holds at most
 * this many numbers (inputs × dimensions; 170 inputs at 1536 dimensions), a stream at most this many deltas.
 */
export const MOCK_MAX_EMBEDDING_VALUES = 262_144;
const MAX_STREAM_DELTAS = 1024;
/** Per-word deltas up to this length; a longer text is cut into MAX_STREAM_DELTAS equal pieces. */
const MAX_WORD_SPLIT_TEXT = 16 * 1024;

const randomId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

/** Splits text into n roughly equal deltas, or one per word; concatenating them gives the text back. */
function splitText(text: string, requested?: number): string[] {
  const pieces = requested ?? (text.length > MAX_WORD_SPLIT_TEXT ? MAX_STREAM_DELTAS : 0);
  if (!pieces) return text.match(/\s*\S+\s*/g) ?? [text];
  const size = Math.max(1, Math.ceil(text.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

function resolveUsage(endpoint: WireEndpoint, body: Record<string, unknown>, s: ReplyScenario): TokenUsage {
  const output = endpoint === 'embedding' ? 0 : countTextTokens(s.text) + countTextTokens(s.toolCall?.arguments ?? '');
  return {
    ...ZERO_USAGE,
    ...s.usage,
    promptTokens: s.usage?.promptTokens ?? countPromptTokens(endpoint, body, EVENT_LOOP_EXACT_CHARS),
    completionTokens: s.usage?.completionTokens ?? output,
  };
}

/** How the reply ends: `length` when the text was cut at maxTokens. */
type Ending = 'stop' | 'length' | 'tool_calls';

/** Refuses (400) an embedding request whose mock answer would exceed MOCK_MAX_EMBEDDING_VALUES numbers. */
export function checkMockEmbedding(body: Record<string, unknown>): void {
  const { count, dimensions } = embeddingShape(body);
  if (count * dimensions > MOCK_MAX_EMBEDDING_VALUES) {
    throw badRequest(
      'input',
      `the mock provider answers at most ${MOCK_MAX_EMBEDDING_VALUES} embedding values per call (${count} inputs × ${dimensions} dimensions asked)`,
    );
  }
}

export function renderMockReply(
  endpoint: WireEndpoint,
  body: Record<string, unknown>,
  scenario: ReplyScenario,
): MockReply {
  const model = typeof body.model === 'string' ? body.model : 'mock';
  let s = scenario;
  let ending: Ending = s.toolCall ? 'tool_calls' : 'stop';
  if (s.maxTokens !== undefined && endpoint !== 'embedding') {
    const cut = truncateToTokens(s.text, s.maxTokens);
    s = { ...s, text: cut.text };
    if (cut.truncated) ending = 'length';
  }
  const usage = resolveUsage(endpoint, body, s);
  const stream = body.stream === true && endpoint !== 'embedding';
  switch (endpoint) {
    case 'chat':
      return stream
        ? { stream, frames: chatFrames(model, body, s, usage, ending) }
        : { stream, body: chatJson(model, s, usage, ending) };
    case 'completion':
      return stream
        ? { stream, frames: completionFrames(model, body, s, usage, ending) }
        : { stream, body: completionJson(model, s, usage, ending) };
    case 'embedding':
      return { stream: false, body: embeddingJson(model, body, usage) };
    case 'messages':
      return stream
        ? { stream, frames: messageFrames(model, s, usage, ending) }
        : { stream, body: messageJson(model, s, usage, ending) };
  }
}

const created = () => Math.floor(Date.now() / 1000);

function chatJson(model: string, s: ReplyScenario, usage: TokenUsage, ending: Ending) {
  const toolCalls = s.toolCall
    ? [
        {
          id: randomId('call_'),
          type: 'function',
          function: { name: s.toolCall.name, arguments: s.toolCall.arguments },
        },
      ]
    : undefined;
  return {
    id: randomId('chatcmpl-'),
    object: 'chat.completion',
    created: created(),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: s.toolCall ? null : s.text, refusal: null, tool_calls: toolCalls },
        logprobs: null,
        finish_reason: ending,
      },
    ],
    usage: openAIUsageBody(usage),
  };
}

function wantsUsage(body: Record<string, unknown>, s: ReplyScenario): boolean {
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  return options?.include_usage === true && s.streamUsage !== false;
}

function chatFrames(
  model: string,
  body: Record<string, unknown>,
  s: ReplyScenario,
  usage: TokenUsage,
  ending: Ending,
): string[] {
  const base = { id: randomId('chatcmpl-'), object: 'chat.completion.chunk', created: created(), model };
  const chunk = (delta: unknown, finish: string | null = null) =>
    openAIFrame({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const frames = [chunk({ role: 'assistant', content: '' })];
  if (s.toolCall) {
    const call = {
      index: 0,
      id: randomId('call_'),
      type: 'function',
      function: { name: s.toolCall.name, arguments: '' },
    };
    frames.push(chunk({ tool_calls: [call] }));
    for (const part of splitText(s.toolCall.arguments, s.pieces)) {
      frames.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    }
  } else {
    for (const part of splitText(s.text, s.pieces)) frames.push(chunk({ content: part }));
  }
  frames.push(chunk({}, ending));
  if (wantsUsage(body, s)) frames.push(openAIFrame({ ...base, choices: [], usage: openAIUsageBody(usage) }));
  frames.push(OPENAI_DONE_FRAME);
  return frames;
}

function completionJson(model: string, s: ReplyScenario, usage: TokenUsage, ending: Ending) {
  return {
    id: randomId('cmpl-'),
    object: 'text_completion',
    created: created(),
    model,
    choices: [{ text: s.text, index: 0, logprobs: null, finish_reason: ending }],
    usage: openAIUsageBody(usage),
  };
}

function completionFrames(
  model: string,
  body: Record<string, unknown>,
  s: ReplyScenario,
  usage: TokenUsage,
  ending: Ending,
) {
  const base = { id: randomId('cmpl-'), object: 'text_completion', created: created(), model };
  const frames = splitText(s.text, s.pieces).map((text) =>
    openAIFrame({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: null }] }),
  );
  frames.push(openAIFrame({ ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: ending }] }));
  if (wantsUsage(body, s)) frames.push(openAIFrame({ ...base, choices: [], usage: openAIUsageBody(usage) }));
  frames.push(OPENAI_DONE_FRAME);
  return frames;
}

function embeddingShape(body: Record<string, unknown>): { count: number; dimensions: number } {
  const input = body.input;
  const count = Array.isArray(input) && input.length > 0 && typeof input[0] !== 'number' ? input.length : 1;
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : DEFAULT_EMBEDDING_DIMENSIONS;
  return { count, dimensions };
}

function embeddingJson(model: string, body: Record<string, unknown>, usage: TokenUsage) {
  checkMockEmbedding(body);
  const { count, dimensions } = embeddingShape(body);
  const data = Array.from({ length: count }, (_, index) => {
    const vector = Float32Array.from({ length: dimensions }, (_, i) => Math.sin(index + i + 1) / 10);
    const embedding =
      body.encoding_format === 'base64' ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
    return { object: 'embedding', index, embedding };
  });
  const { prompt_tokens } = openAIUsageBody(usage);
  return { object: 'list', data, model, usage: { prompt_tokens, total_tokens: prompt_tokens } };
}

function messageContent(s: ReplyScenario) {
  const content: unknown[] = [];
  if (s.text) content.push({ type: 'text', text: s.text });
  if (s.toolCall) {
    const input: unknown = JSON.parse(s.toolCall.arguments || '{}');
    content.push({ type: 'tool_use', id: randomId('toolu_'), name: s.toolCall.name, input });
  }
  return content;
}

/** Anthropic's name for each ending. */
const STOP_REASON: Record<Ending, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' };

function messageJson(model: string, s: ReplyScenario, usage: TokenUsage, ending: Ending) {
  return {
    id: randomId('msg_'),
    type: 'message',
    role: 'assistant',
    model,
    content: messageContent(s),
    stop_reason: STOP_REASON[ending],
    stop_sequence: null,
    usage: anthropicUsageBody(usage),
  };
}

function messageFrames(model: string, s: ReplyScenario, usage: TokenUsage, ending: Ending): string[] {
  const withUsage = s.streamUsage !== false;
  const startUsage = { ...anthropicUsageBody(usage), output_tokens: 1 };
  const message = { id: randomId('msg_'), type: 'message', role: 'assistant', model, content: [] };
  const frames = [
    anthropicFrame({
      type: 'message_start',
      message: { ...message, stop_reason: null, stop_sequence: null, ...(withUsage ? { usage: startUsage } : {}) },
    }),
  ];
  let index = 0;
  if (s.text) {
    frames.push(anthropicFrame({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    for (const text of splitText(s.text, s.pieces)) {
      frames.push(anthropicFrame({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
    }
    frames.push(anthropicFrame({ type: 'content_block_stop', index }));
    index += 1;
  }
  if (s.toolCall) {
    const block = { type: 'tool_use', id: randomId('toolu_'), name: s.toolCall.name, input: {} };
    frames.push(anthropicFrame({ type: 'content_block_start', index, content_block: block }));
    for (const partial_json of splitText(s.toolCall.arguments, s.pieces)) {
      frames.push(
        anthropicFrame({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }),
      );
    }
    frames.push(anthropicFrame({ type: 'content_block_stop', index }));
  }
  const delta = { stop_reason: STOP_REASON[ending], stop_sequence: null };
  frames.push(
    anthropicFrame({
      type: 'message_delta',
      delta,
      ...(withUsage ? { usage: { output_tokens: usage.completionTokens } } : {}),
    }),
  );
  frames.push(anthropicFrame({ type: 'message_stop' }));
  return frames;
}
