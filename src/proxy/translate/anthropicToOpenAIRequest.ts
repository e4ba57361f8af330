// Anthropic Messages request → OpenAI chat request, so the Anthropic SDK (and tools built on it) can call
// OpenAI-compatible models: `system` → a system message, tool_result blocks → `tool` messages, tool_use
// blocks → assistant `tool_calls`, image blocks → `image_url` parts, structured output
// (`output_config.format`) → `response_format` json_schema. Thinking blocks of earlier turns are left out
// (OpenAI-compatible models cannot take them back). What the target cannot express (server tools, top_k,
// extended thinking, images inside tool results, …) is a 400 naming the field: docs/proxy.md lists them.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';

type Message = Record<string, unknown>;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isRecord(block) && typeof block.text === 'string' ? block.text : '')).join('');
}

/** OpenAI tool messages carry text only: an image (or document) inside a tool result cannot be translated. */
function toolResultText(block: Record<string, unknown>, param: string): string {
  if (Array.isArray(block.content)) {
    block.content.forEach((part, k) => {
      if (!isRecord(part) || part.type !== 'text') {
        const type = isRecord(part) ? String(part.type) : typeof part;
        throw badRequest(
          `${param}.content[${k}].type`,
          `${type} in a tool result is not supported for OpenAI-compatible models`,
        );
      }
    });
  }
  return textOf(block.content);
}

function imagePart(block: Record<string, unknown>, param: string): Message {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64') {
    return { type: 'image_url', image_url: { url: `data:${String(source.media_type)};base64,${String(source.data)}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  throw badRequest(`${param}.source.type`, 'must be base64 or url');
}

function convertTurn(message: Record<string, unknown>, at: string): Message[] {
  const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  if (!Array.isArray(blocks)) throw badRequest(`${at}.content`, 'must be a string or an array of blocks');
  const parts: Message[] = [];
  const toolCalls: Message[] = [];
  const toolResults: Message[] = [];
  blocks.forEach((block, j) => {
    const param = `${at}.content[${j}]`;
    if (!isRecord(block)) throw badRequest(param, 'must be an object');
    if (block.type === 'text' && typeof block.text === 'string') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'image') parts.push(imagePart(block, param));
    else if (block.type === 'tool_use') {
      const fn = { name: block.name, arguments: JSON.stringify(block.input ?? {}) };
      toolCalls.push({ id: block.id, type: 'function', function: fn });
    } else if (block.type === 'tool_result') {
      if (typeof block.tool_use_id !== 'string') throw badRequest(`${param}.tool_use_id`, 'required');
      toolResults.push({ role: 'tool', tool_call_id: block.tool_use_id, content: toolResultText(block, param) });
    } else if (block.type !== 'thinking' && block.type !== 'redacted_thinking') {
      throw badRequest(`${param}.type`, `${String(block.type)} is not supported for OpenAI-compatible models`);
    }
  });
  if (message.role === 'assistant') {
    const text = parts.map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
    return [{ role: 'assistant', content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }];
  }
  if (message.role !== 'user') throw badRequest(`${at}.role`, 'must be user or assistant');
  // OpenAI wants tool results right after the assistant turn that asked for them, before new user text.
  return parts.length ? [...toolResults, { role: 'user', content: parts }] : toolResults;
}

function convertToolChoice(choice: unknown): { tool_choice?: unknown; parallel_tool_calls?: boolean } {
  if (choice === undefined || choice === null) return {};
  if (!isRecord(choice) || !['auto', 'any', 'none', 'tool'].includes(String(choice.type))) {
    throw badRequest('tool_choice.type', 'must be auto, any, tool or none');
  }
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  if (choice.type === 'any') return { tool_choice: 'required', ...parallel };
  if (choice.type === 'none') return { tool_choice: 'none' };
  if (choice.type === 'tool') {
    if (typeof choice.name !== 'string') throw badRequest('tool_choice.name', 'required');
    return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
  }
  return { tool_choice: 'auto', ...parallel };
}

function convertTool(tool: unknown, i: number): Message {
  if (!isRecord(tool)) throw badRequest(`tools[${i}]`, 'must be an object');
  if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
    throw badRequest(
      `tools[${i}].type`,
      `${String(tool.type)} (an Anthropic server tool) is not supported for OpenAI-compatible models`,
    );
  }
  if (typeof tool.name !== 'string') throw badRequest(`tools[${i}].name`, 'required');
  if (!isRecord(tool.input_schema)) throw badRequest(`tools[${i}].input_schema`, 'required');
  const fn: Message = { name: tool.name, parameters: tool.input_schema };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (tool.strict === true) fn.strict = true;
  return { type: 'function', function: fn };
}

const EFFORTS = new Set(['low', 'medium', 'high']);

/**
 * `output_config` (and the older beta `output_format`): a JSON schema → `response_format` json_schema with
 * `strict: true` (Anthropic's structured output is always enforced); effort → `reasoning_effort`.
 */
function convertOutputConfig(body: Record<string, unknown>, out: Record<string, unknown>): void {
  const config = body.output_config;
  if (config !== undefined && config !== null && !isRecord(config))
    throw badRequest('output_config', 'must be an object');
  const formats: [unknown, string][] = [
    [isRecord(config) ? config.format : undefined, 'output_config.format'],
    [body.output_format, 'output_format'],
  ];
  for (const [format, param] of formats) {
    if (format === undefined || format === null) continue;
    if (!isRecord(format) || format.type !== 'json_schema') throw badRequest(`${param}.type`, 'must be json_schema');
    if (!isRecord(format.schema)) throw badRequest(`${param}.schema`, 'required');
    out.response_format = {
      type: 'json_schema',
      json_schema: { name: 'response', schema: format.schema, strict: true },
    };
  }
  const effort = isRecord(config) ? config.effort : undefined;
  if (effort === undefined || effort === null) return;
  if (typeof effort !== 'string' || !EFFORTS.has(effort)) {
    throw badRequest('output_config.effort', 'only low, medium and high translate to OpenAI reasoning_effort');
  }
  out.reasoning_effort = effort;
}

/** Anthropic request fields an OpenAI-compatible model has no equivalent for. */
const UNSUPPORTED_FIELDS: [field: string, why: string][] = [
  ['top_k', 'OpenAI-compatible models take no top_k'],
  ['container', 'Anthropic containers exist only on Anthropic models'],
  ['mcp_servers', 'the MCP connector exists only on Anthropic models'],
  ['context_management', 'context management exists only on Anthropic models'],
];

function refuseUnsupported(body: Record<string, unknown>): void {
  for (const [field, why] of UNSUPPORTED_FIELDS) {
    if (body[field] !== undefined && body[field] !== null) throw badRequest(field, why);
  }
  if (body.service_tier !== undefined && body.service_tier !== null && body.service_tier !== 'auto') {
    throw badRequest('service_tier', 'Anthropic service tiers do not apply to OpenAI-compatible models');
  }
  const thinking = body.thinking;
  if (isRecord(thinking) && thinking.type !== 'disabled') {
    throw badRequest('thinking.type', 'extended thinking is not translated for OpenAI-compatible models');
  }
}

export function messagesToChatRequest(body: Record<string, unknown>, upstreamModel: string): Record<string, unknown> {
  if (!Array.isArray(body.messages)) throw badRequest('messages', 'must be an array');
  refuseUnsupported(body);
  const messages: Message[] = [];
  const system = textOf(body.system);
  if (system) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, i) => {
    if (!isRecord(message)) throw badRequest(`messages[${i}]`, 'must be an object');
    messages.push(...convertTurn(message, `messages[${i}]`));
  });
  const out: Record<string, unknown> = { model: upstreamModel, messages };
  if (typeof body.max_tokens === 'number') out.max_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences)) out.stop = body.stop_sequences;
  if (isRecord(body.metadata) && typeof body.metadata.user_id === 'string') out.user = body.metadata.user_id;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw badRequest('tools', 'must be an array');
    // OpenAI refuses an empty tools list; without tools there is nothing for tool_choice to pick.
    if (body.tools.length) {
      out.tools = body.tools.map(convertTool);
      Object.assign(out, convertToolChoice(body.tool_choice));
    }
  }
  if (
    !out.tools &&
    isRecord(body.tool_choice) &&
    (body.tool_choice.type === 'any' || body.tool_choice.type === 'tool')
  ) {
    throw badRequest('tool_choice', 'needs tools');
  }
  convertOutputConfig(body, out);
  return out;
}
