// The size of a request's prompt in its client wire format (chat, completions, embeddings, Anthropic
// messages, Responses), measured by a text counter handed in: what the tokenizer counts exactly
// (tokens.ts, off the hot path) and what the proxy reserves before forwarding (promptTokenBound) walk the
// same parts — message text, names, tool calls and tool definitions, images at a fixed allowance, and the
// per-message framing.
import { isRecord } from './exchange/types.js';

export type PromptShape = 'chat' | 'completion' | 'embedding' | 'messages' | 'responses';
export type TextCounter = (text: string) => number;

/** OpenAI's per-message framing overhead (role, separators) and the reply primer, from their cookbook. */
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REPLY = 3;
/** An image's input cost depends on its size, which we do not decode; 85 is the low-detail base. */
const TOKENS_PER_IMAGE = 85;

/** A message's content in either wire format: a string or a list of typed parts/blocks. */
function contentSize(content: unknown, count: TextCounter): number {
  if (typeof content === 'string') return count(content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string') total += count(part.text);
    else if (part.type === 'image_url' || part.type === 'image' || part.type === 'input_image')
      total += TOKENS_PER_IMAGE;
    else if (part.type === 'tool_use') total += count(JSON.stringify(part.input ?? {}));
    else if (part.type === 'tool_result') total += contentSize(part.content, count);
  }
  return total;
}

function messagesSize(messages: unknown, count: TextCounter): number {
  if (!Array.isArray(messages)) return 0;
  let total = TOKENS_PER_REPLY;
  for (const message of messages) {
    if (!isRecord(message)) continue;
    total += TOKENS_PER_MESSAGE + contentSize(message.content, count);
    if (typeof message.name === 'string') total += count(message.name);
    if (Array.isArray(message.tool_calls)) total += count(JSON.stringify(message.tool_calls));
  }
  return total;
}

function textInputSize(input: unknown, count: TextCounter): number {
  if (typeof input === 'string') return count(input);
  if (!Array.isArray(input)) return 0;
  // Token-id arrays (number[] or number[][]) are already tokens.
  let total = 0;
  for (const item of input) {
    if (typeof item === 'number') total += 1;
    else if (typeof item === 'string') total += count(item);
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}

/**
 * A Responses `input`: a string, or items — messages (content as a string or input_text / input_image
 * parts), function calls (name and arguments) and their outputs.
 */
function responsesInputSize(input: unknown, count: TextCounter): number {
  if (typeof input === 'string') return TOKENS_PER_MESSAGE + count(input) + TOKENS_PER_REPLY;
  if (!Array.isArray(input)) return 0;
  let total = TOKENS_PER_REPLY;
  for (const item of input) {
    if (!isRecord(item)) continue;
    total += TOKENS_PER_MESSAGE + contentSize(item.content, count);
    if (typeof item.name === 'string') total += count(item.name);
    if (typeof item.arguments === 'string') total += count(item.arguments);
    if (item.output !== undefined) total += contentSize(item.output, count);
  }
  return total;
}

const toolsSize = (tools: unknown, count: TextCounter) => (Array.isArray(tools) ? count(JSON.stringify(tools)) : 0);

/** The body fields a prompt is made of, per shape (what a counter in another thread needs to be sent). */
export const PROMPT_FIELDS: Record<PromptShape, readonly string[]> = {
  chat: ['messages', 'tools'],
  completion: ['prompt'],
  embedding: ['input'],
  messages: ['system', 'messages', 'tools'],
  responses: ['instructions', 'input', 'tools'],
};

/** The prompt of a request body in its client wire format, each text measured by `count`. */
export function promptSize(shape: PromptShape, body: Record<string, unknown>, count: TextCounter): number {
  switch (shape) {
    case 'chat':
      return messagesSize(body.messages, count) + toolsSize(body.tools, count);
    case 'completion':
      return textInputSize(body.prompt, count);
    case 'embedding':
      return textInputSize(body.input, count);
    case 'responses':
      return (
        (typeof body.instructions === 'string' ? TOKENS_PER_MESSAGE + count(body.instructions) : 0) +
        responsesInputSize(body.input, count) +
        toolsSize(body.tools, count)
      );
    case 'messages':
      return contentSize(body.system, count) + messagesSize(body.messages, count) + toolsSize(body.tools, count);
  }
}

/**
 * An upper bound of the prompt's tokens without a tokenizer: every token of a byte-level BPE (OpenAI's
 * o200k/cl100k, Anthropic's, Llama's; SentencePiece with byte fallback) stands for at least one UTF-8 byte,
 * so a text has at most as many tokens as bytes — for any language (CJK text is 3 bytes a character and
 * about a token a character, where the old 4-characters-a-token guess under-reserved it 3×). About 4× the
 * real count for English: the reservation is generous, and settles to the provider's count.
 */
export function promptTokenBound(shape: PromptShape, body: Record<string, unknown>): number {
  return promptSize(shape, body, (text) => Buffer.byteLength(text));
}
