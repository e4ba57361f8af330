// OpenAI Responses request → Chat Completions request, so every deployment that serves chat serves the
// Responses API: `instructions` → a system message, `input` (a string or a list of items: messages with
// input_text / input_image parts, function_call and function_call_output items) → messages, function
// `tools` / `tool_choice` → chat tools, `max_output_tokens` → max_tokens, `text.format` → response_format.
// Stored items (`item_reference`, `previous_response_id`) are resolved before this translation runs
// (responsesItemStore.ts). What chat cannot express (conversations, hosted tools, files by id) is a 400 naming the field; so is any
// field this translation does not know, rather than a silent drop.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';

type Json = Record<string, unknown>;

/**
 * Needs state the translation does not hold: `previous_response_id` is resolved from the proxy's item store
 * before translating (responsesItemStore.ts); the others are refused on every translated deployment.
 */
const STATEFUL = {
  previous_response_id: 'must be resolved from the item store first',
  conversation: 'conversations need stored state; send the whole input instead',
  prompt: 'stored prompt templates live at OpenAI; send instructions and input instead',
} as const;

/** Fields the translation reads (or that carry Spendhouse attribution); any other field is refused. */
const TRANSLATED_FIELDS = new Set([
  'model',
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'max_output_tokens',
  'text',
  'temperature',
  'top_p',
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'store',
  'background',
  'include',
  'truncation',
  'reasoning',
  'metadata',
  'tags',
  'mock_response',
  ...Object.keys(STATEFUL),
]);

const present = (value: unknown) => value !== undefined && value !== null;

/**
 * Checks common to both paths (native and translated): `input` must be a string or a list, and
 * `background: true` is refused everywhere — its answer (and usage) arrives after the call, unrecorded.
 */
export function checkResponsesRequest(body: Json): void {
  const input = body.input;
  if (present(input) && typeof input !== 'string' && !Array.isArray(input)) {
    throw badRequest('input', 'must be a string or an array of input items');
  }
  if (body.background === true) {
    throw badRequest('background', 'background responses finish after the call; their spend could not be recorded');
  }
}

function textOf(value: unknown, param: string): string {
  if (typeof value !== 'string') throw badRequest(param, 'must be a string');
  return value;
}

function imagePart(part: Json, at: string): Json {
  if (present(part.file_id)) throw badRequest(`${at}.file_id`, 'files by id are not supported for this model');
  const url = textOf(part.image_url, `${at}.image_url`);
  const detail = typeof part.detail === 'string' && part.detail !== 'auto' ? { detail: part.detail } : {};
  return { type: 'image_url', image_url: { url, ...detail } };
}

/** A message's content: a string, or input_text / output_text / input_image parts. */
function chatContent(content: unknown, at: string, role: string): string | Json[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badRequest(at, 'must be a string or an array of content parts');
  const parts = content.map((part, j): Json => {
    const partAt = `${at}[${j}]`;
    if (!isRecord(part)) throw badRequest(partAt, 'must be an object');
    if (part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') {
      return { type: 'text', text: textOf(part.text, `${partAt}.text`) };
    }
    if (part.type === 'input_image' && role !== 'assistant') return imagePart(part, partAt);
    throw badRequest(`${partAt}.type`, `${String(part.type)} is not supported in a ${role} message for this model`);
  });
  // Assistant turns are plain text in every chat translation.
  return role === 'assistant' ? parts.map((part) => part.text).join('') : parts;
}

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function functionCall(item: Json, at: string): Json {
  return {
    id: textOf(item.call_id, `${at}.call_id`),
    type: 'function',
    function: { name: textOf(item.name, `${at}.name`), arguments: textOf(item.arguments, `${at}.arguments`) },
  };
}

function toolOutput(output: unknown, at: string): string | Json[] {
  if (typeof output === 'string') return output;
  return chatContent(output, at, 'tool');
}

/** The input items as chat messages; consecutive function calls become one assistant turn (parallel calls). */
function inputMessages(input: unknown): Json[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) throw badRequest('input', 'required: a string or an array of input items');
  const messages: Json[] = [];
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isRecord(item)) throw badRequest(at, 'must be an object');
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = item.role;
      if (typeof role !== 'string' || !MESSAGE_ROLES.has(role)) {
        throw badRequest(`${at}.role`, 'must be user, assistant, system or developer');
      }
      messages.push({ role, content: chatContent(item.content, `${at}.content`, role) });
    } else if (type === 'function_call') {
      const last = messages.at(-1);
      const call = functionCall(item, at);
      if (last?.role === 'assistant') {
        last.tool_calls = [...(Array.isArray(last.tool_calls) ? last.tool_calls : []), call];
      } else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      messages.push({
        role: 'tool',
        tool_call_id: textOf(item.call_id, `${at}.call_id`),
        content: toolOutput(item.output, `${at}.output`),
      });
    } else if (type === 'reasoning') {
      // The model's own earlier reasoning (sent back by agent loops): chat has no field that carries it.
    } else if (type === 'item_reference') {
      // handleCall replaces them from the proxy's item store (responsesItemStore.ts) before translating.
      throw badRequest(`${at}.type`, 'item_reference items must be resolved from the item store first');
    } else {
      throw badRequest(`${at}.type`, `${String(type)} items are not supported for this model`);
    }
  });
  return messages;
}

function chatTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) throw badRequest('tools', 'must be an array');
  return tools.map((tool, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(tool)) throw badRequest(at, 'must be an object');
    if (tool.type !== 'function') {
      throw badRequest(
        `${at}.type`,
        `${String(tool.type)} tools are not supported for this model (function tools are)`,
      );
    }
    const fn: Json = { name: textOf(tool.name, `${at}.name`) };
    if (present(tool.description)) fn.description = tool.description;
    if (present(tool.parameters)) fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function chatToolChoice(choice: unknown): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isRecord(choice) && choice.type === 'function') {
    return { type: 'function', function: { name: textOf(choice.name, 'tool_choice.name') } };
  }
  throw badRequest('tool_choice', 'expected auto, none, required or a function tool choice');
}

/** `text.format` → chat `response_format`; `text.verbosity` has no chat translation everywhere. */
function responseFormat(text: unknown): Json | undefined {
  if (!isRecord(text)) throw badRequest('text', 'must be an object');
  for (const key of Object.keys(text)) {
    if (key !== 'format' && present(text[key])) {
      throw badRequest(`text.${key}`, 'is not supported for this model');
    }
  }
  const format = text.format;
  if (!present(format) || (isRecord(format) && format.type === 'text')) return undefined;
  if (!isRecord(format)) throw badRequest('text.format', 'must be an object');
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type !== 'json_schema') throw badRequest('text.format.type', 'expected text, json_object or json_schema');
  const schema: Json = { name: textOf(format.name, 'text.format.name'), schema: format.schema };
  if (present(format.description)) schema.description = format.description;
  if (typeof format.strict === 'boolean') schema.strict = format.strict;
  return { type: 'json_schema', json_schema: schema };
}

/** Refuses what the translated path cannot honour, naming the field. */
function checkTranslatable(body: Json): void {
  for (const [field, reason] of Object.entries(STATEFUL)) {
    if (present(body[field])) throw badRequest(field, reason);
  }
  for (const field of Object.keys(body)) {
    if (!TRANSLATED_FIELDS.has(field) && present(body[field])) {
      throw badRequest(field, 'is not supported for this model (it is answered through chat completions)');
    }
  }
  if (Array.isArray(body.include) && body.include.length) {
    throw badRequest('include', `${String(body.include[0])} is not available for this model`);
  }
  if (present(body.truncation) && body.truncation !== 'disabled') {
    throw badRequest('truncation', 'only "disabled" is supported for this model');
  }
  // Reasoning effort and summaries have no chat translation for every provider: only an empty object passes.
  if (isRecord(body.reasoning)) {
    for (const key of Object.keys(body.reasoning)) {
      if (present(body.reasoning[key])) throw badRequest(`reasoning.${key}`, 'is not supported for this model');
    }
  }
}

/** The chat request for a Responses request; `mock_response` is kept for the in-process mock. */
export function responsesToChatRequest(body: Json): Json {
  checkTranslatable(body);
  const messages: Json[] = [];
  if (present(body.instructions)) messages.push({ role: 'system', content: textOf(body.instructions, 'instructions') });
  messages.push(...inputMessages(body.input));
  const out: Json = { model: body.model, messages };
  if (body.stream === true) out.stream = true;
  if (present(body.max_output_tokens)) out.max_tokens = body.max_output_tokens;
  for (const field of ['temperature', 'top_p', 'parallel_tool_calls', 'mock_response'] as const) {
    if (present(body[field])) out[field] = body[field];
  }
  const user = body.user ?? body.safety_identifier;
  if (present(user)) out.user = user;
  if (present(body.tools)) {
    const tools = chatTools(body.tools);
    if (tools.length) out.tools = tools;
  }
  if (present(body.tool_choice)) out.tool_choice = chatToolChoice(body.tool_choice);
  if (present(body.text)) {
    const format = responseFormat(body.text);
    if (format) out.response_format = format;
  }
  return out;
}
