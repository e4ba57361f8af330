// OpenAI chat request → Anthropic Messages request, so the OpenAI SDK can call Claude unchanged:
// system/developer messages → `system`, tool results → user `tool_result` blocks, assistant tool calls →
// `tool_use` blocks, images → image blocks, consecutive same-role turns merged (Anthropic alternates),
// `response_format` json_schema → Anthropic's native structured output (`output_config.format`, the answer
// comes back as JSON text). What Claude cannot do (n > 1, logprobs, penalties, seed, audio, …) is a 400
// naming the field, never dropped: docs/proxy.md "Tools and structured output" lists each field.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';
import { imageUrlOf, parseDataUrl, parseToolCall } from './chatParts.js';

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

function imageBlock(part: Record<string, unknown>, param: string): Block {
  const url = imageUrlOf(part, param);
  const data = parseDataUrl(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  return { type: 'image', source: { type: 'url', url } };
}

function textBlock(text: string, part?: Record<string, unknown>): Block {
  return part?.cache_control ? { type: 'text', text, cache_control: part.cache_control } : { type: 'text', text };
}

function contentBlocks(content: unknown, param: string): Block[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content ? [textBlock(content)] : [];
  if (!Array.isArray(content)) throw badRequest(param, 'must be a string or an array of content parts');
  return content.map((part, j) => {
    const at = `${param}[${j}]`;
    if (!isRecord(part)) throw badRequest(at, 'must be an object');
    if (part.type === 'text' && typeof part.text === 'string') return textBlock(part.text, part);
    if (part.type === 'image_url') return imageBlock(part, at);
    throw badRequest(`${at}.type`, `${String(part.type)} is not supported for Anthropic models`);
  });
}

function toolUseBlocks(toolCalls: unknown, param: string): Block[] {
  if (!Array.isArray(toolCalls)) return [];
  return toolCalls.map((call, j) => {
    const { id, name, args } = parseToolCall(call, `${param}[${j}]`);
    return { type: 'tool_use', id, name, input: args };
  });
}

function pushTurn(turns: Turn[], role: Turn['role'], content: Block[]): void {
  // Anthropic rejects empty turns (an assistant message with neither text nor tool calls).
  if (!content.length) return;
  const last = turns.at(-1);
  if (last?.role === role) last.content.push(...content);
  else turns.push({ role, content });
}

function convertMessages(messages: unknown): { system: Block[]; turns: Turn[] } {
  if (!Array.isArray(messages)) throw badRequest('messages', 'must be an array');
  const system: Block[] = [];
  const turns: Turn[] = [];
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) throw badRequest(at, 'must be an object');
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...contentBlocks(message.content, `${at}.content`));
        break;
      case 'user':
        pushTurn(turns, 'user', contentBlocks(message.content, `${at}.content`));
        break;
      case 'assistant':
        pushTurn(turns, 'assistant', [
          ...contentBlocks(message.content, `${at}.content`),
          ...toolUseBlocks(message.tool_calls, `${at}.tool_calls`),
        ]);
        break;
      case 'tool': {
        if (typeof message.tool_call_id !== 'string') throw badRequest(`${at}.tool_call_id`, 'required');
        const result = contentBlocks(message.content, `${at}.content`);
        pushTurn(turns, 'user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: result }]);
        break;
      }
      default:
        throw badRequest(`${at}.role`, `${String(message.role)} is not supported for Anthropic models`);
    }
  });
  return { system, turns };
}

function convertToolChoice(choice: unknown, parallel: unknown, hasTools: boolean): Block | undefined {
  if (parallel !== undefined && parallel !== null && typeof parallel !== 'boolean') {
    throw badRequest('parallel_tool_calls', 'must be a boolean');
  }
  let out: Block | undefined;
  if (choice === undefined || choice === null) out = undefined;
  else if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (isRecord(choice) && choice.type === 'function' && isRecord(choice.function)) {
    if (typeof choice.function.name !== 'string') throw badRequest('tool_choice.function.name', 'required');
    out = { type: 'tool', name: choice.function.name };
  } else {
    throw badRequest('tool_choice', 'must be auto, none, required or {"type":"function","function":{"name":…}}');
  }
  if (!hasTools) {
    if (out && out.type !== 'auto' && out.type !== 'none') throw badRequest('tool_choice', 'needs tools');
    return undefined;
  }
  // `none` cannot carry the parallel flag in Anthropic's API (no tool is called anyway).
  if (parallel === false && out?.type !== 'none')
    out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function convertTools(tools: unknown): Block[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw badRequest('tools', 'must be an array');
  return tools.map((tool, i) => {
    if (!isRecord(tool) || tool.type !== 'function') {
      throw badRequest(`tools[${i}].type`, 'only function tools can be translated for Anthropic models');
    }
    const fn = isRecord(tool.function) ? tool.function : null;
    if (!fn || typeof fn.name !== 'string') throw badRequest(`tools[${i}].function.name`, 'required');
    const out: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object' } };
    if (typeof fn.description === 'string') out.description = fn.description;
    // Anthropic's strict tool use constrains the input to the schema, as OpenAI's `strict` does.
    if (fn.strict === true) out.strict = true;
    return out;
  });
}

/** `response_format` → Anthropic's `output_config.format`; undefined for plain text. */
function convertResponseFormat(format: unknown): Block | undefined {
  if (format === undefined || format === null) return undefined;
  if (!isRecord(format)) throw badRequest('response_format', 'must be an object');
  if (format.type === 'text') return undefined;
  if (format.type === 'json_schema') {
    const spec = isRecord(format.json_schema) ? format.json_schema : null;
    if (!spec || !isRecord(spec.schema)) throw badRequest('response_format.json_schema.schema', 'required');
    return { type: 'json_schema', schema: spec.schema };
  }
  if (format.type === 'json_object') {
    throw badRequest('response_format.type', 'json_object has no Anthropic equivalent; send json_schema with a schema');
  }
  throw badRequest('response_format.type', 'must be text or json_schema for Anthropic models');
}

/**
 * OpenAI request fields Claude has no equivalent for. A value that only restates OpenAI's default is
 * accepted (some clients always send them); anything else is refused rather than silently ignored.
 */
const UNSUPPORTED_FIELDS: [field: string, isDefault: (value: unknown) => boolean, why: string][] = [
  ['logprobs', (v) => v === false, 'Anthropic models return no log probabilities'],
  ['top_logprobs', (v) => v === 0, 'Anthropic models return no log probabilities'],
  ['logit_bias', (v) => isRecord(v) && Object.keys(v).length === 0, 'Anthropic models take no logit bias'],
  ['presence_penalty', (v) => v === 0, 'Anthropic models take no presence penalty'],
  ['frequency_penalty', (v) => v === 0, 'Anthropic models take no frequency penalty'],
  ['seed', () => false, 'Anthropic models take no seed'],
  ['audio', () => false, 'Anthropic models produce no audio'],
  ['modalities', (v) => Array.isArray(v) && v.every((m) => m === 'text'), 'Anthropic models answer text only'],
  ['prediction', () => false, 'Anthropic models take no predicted output'],
  ['functions', () => false, 'send `tools` instead (the legacy functions API is not translated)'],
  ['function_call', () => false, 'send `tool_choice` instead (the legacy functions API is not translated)'],
  ['reasoning_effort', () => false, 'not translated to Anthropic extended thinking'],
  ['web_search_options', () => false, 'not translated to Anthropic server tools'],
  ['store', (v) => v === false, 'Anthropic does not store completions'],
  ['service_tier', (v) => v === 'auto' || v === 'default', 'OpenAI service tiers do not apply to Anthropic models'],
  ['verbosity', (v) => v === 'medium', 'Anthropic models take no verbosity'],
];

function refuseUnsupported(body: Record<string, unknown>): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw badRequest('n', 'Anthropic models return one choice; send n: 1 (or one request per choice)');
  }
  for (const [field, isDefault, why] of UNSUPPORTED_FIELDS) {
    const value = body[field];
    if (value !== undefined && value !== null && !isDefault(value)) throw badRequest(field, why);
  }
}

export function chatToMessagesRequest(
  body: Record<string, unknown>,
  upstreamModel: string,
  maxTokens: number,
): Record<string, unknown> {
  refuseUnsupported(body);
  const { system, turns } = convertMessages(body.messages);
  const out: Record<string, unknown> = { model: upstreamModel, max_tokens: maxTokens, messages: turns };
  if (system.length) out.system = system;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  if (body.stream === true) out.stream = true;
  // Both name the end user for the provider's abuse detection, which is what Anthropic's user_id is for.
  const endUser = typeof body.user === 'string' ? body.user : body.safety_identifier;
  if (typeof endUser === 'string') out.metadata = { user_id: endUser };
  const tools = convertTools(body.tools);
  if (tools) out.tools = tools;
  const toolChoice = convertToolChoice(body.tool_choice, body.parallel_tool_calls, Boolean(tools?.length));
  if (toolChoice) out.tool_choice = toolChoice;
  const format = convertResponseFormat(body.response_format);
  if (format) out.output_config = { format };
  return out;
}
