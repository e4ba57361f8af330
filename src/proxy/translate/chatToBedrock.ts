// OpenAI chat request → Bedrock Converse request: system/developer messages → `system` blocks, turns →
// `messages` (consecutive same-role turns merged: Converse alternates user and assistant), images as data
// URLs → `image` blocks (bytes base64 in JSON), assistant tool calls → `toolUse`, tool results → `toolResult`
// in a user turn, tools → `toolConfig`, max_tokens / temperature / top_p / stop → `inferenceConfig`.
// Converse has no home for n > 1, penalties, seed, logprobs, JSON modes or reasoning effort: each is a 400
// naming the field.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';
import { imageUrlOf, parseDataUrl, parseToolCall } from './chatParts.js';
import { maxOutputTokens, numberField } from './chatToGemini.js';

type Json = Record<string, unknown>;

/**
 * Chat fields read here. `user`, `safety_identifier` (OpenAI's end-user id; Converse has no field for it),
 * `stream_options`, `tags` and `metadata` are Spendhouse's, not forwarded.
 */
const READ_FIELDS = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'user',
  'safety_identifier',
  'tags',
  'metadata',
]);

const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

function imageBlock(part: Json, at: string): Json {
  const data = parseDataUrl(imageUrlOf(part, at));
  if (!data) throw badRequest(`${at}.image_url.url`, 'Bedrock takes images as base64 data: URLs only');
  const format = IMAGE_FORMATS[data.mediaType.toLowerCase()];
  if (!format) throw badRequest(`${at}.image_url.url`, 'Bedrock takes png, jpeg, gif or webp images');
  return { image: { format, source: { bytes: data.data } } };
}

function contentBlocks(content: unknown, param: string, allowImages: boolean): Json[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) throw badRequest(param, 'must be a string or an array of content parts');
  return content.map((part, j) => {
    const at = `${param}[${j}]`;
    if (!isRecord(part)) throw badRequest(at, 'must be an object');
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && allowImages) return imageBlock(part, at);
    throw badRequest(`${at}.type`, `${String(part.type)} is not supported here for Bedrock models`);
  });
}

function toolUseBlocks(toolCalls: unknown, param: string): Json[] {
  if (toolCalls === undefined || toolCalls === null) return [];
  if (!Array.isArray(toolCalls)) throw badRequest(param, 'must be an array');
  return toolCalls.map((call, j) => {
    const at = `${param}[${j}]`;
    const { id, name, args } = parseToolCall(call, at);
    if (typeof id !== 'string') throw badRequest(`${at}.id`, 'required');
    return { toolUse: { toolUseId: id, name, input: args } };
  });
}

function pushTurn(messages: Json[], role: 'user' | 'assistant', content: Json[]): void {
  if (!content.length) return;
  const last = messages.at(-1);
  if (last?.role === role && Array.isArray(last.content)) last.content.push(...content);
  else messages.push({ role, content });
}

function convertMessages(input: unknown): { system: Json[]; messages: Json[] } {
  if (!Array.isArray(input)) throw badRequest('messages', 'must be an array');
  const system: Json[] = [];
  const messages: Json[] = [];
  input.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) throw badRequest(at, 'must be an object');
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...contentBlocks(message.content, `${at}.content`, false));
        break;
      case 'user':
        pushTurn(messages, 'user', contentBlocks(message.content, `${at}.content`, true));
        break;
      case 'assistant':
        pushTurn(messages, 'assistant', [
          ...contentBlocks(message.content, `${at}.content`, false),
          ...toolUseBlocks(message.tool_calls, `${at}.tool_calls`),
        ]);
        break;
      case 'tool': {
        if (typeof message.tool_call_id !== 'string') throw badRequest(`${at}.tool_call_id`, 'required');
        const content = contentBlocks(message.content, `${at}.content`, false);
        pushTurn(messages, 'user', [{ toolResult: { toolUseId: message.tool_call_id, content } }]);
        break;
      }
      default:
        throw badRequest(`${at}.role`, `${String(message.role)} is not supported for Bedrock models`);
    }
  });
  return { system, messages };
}

function toolConfig(tools: unknown, choice: unknown): Json | undefined {
  if (tools === undefined) {
    if (choice !== undefined) throw badRequest('tool_choice', 'needs tools');
    return undefined;
  }
  if (!Array.isArray(tools)) throw badRequest('tools', 'must be an array');
  const specs = tools.map((tool, i) => {
    if (!isRecord(tool) || tool.type !== 'function') throw badRequest(`tools[${i}].type`, 'must be function');
    const fn = isRecord(tool.function) ? tool.function : null;
    if (!fn || typeof fn.name !== 'string') throw badRequest(`tools[${i}].function.name`, 'required');
    const spec: Json = { name: fn.name, inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } } };
    if (typeof fn.description === 'string') spec.description = fn.description;
    return { toolSpec: spec };
  });
  const config: Json = { tools: specs };
  if (choice === undefined) return config;
  if (choice === 'auto') return { ...config, toolChoice: { auto: {} } };
  if (choice === 'required') return { ...config, toolChoice: { any: {} } };
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { ...config, toolChoice: { tool: { name: choice.function.name } } };
  }
  if (choice === 'none') throw badRequest('tool_choice', 'Bedrock Converse has no "none"; send no tools instead');
  throw badRequest('tool_choice', 'must be auto, required or a named function');
}

function inferenceConfig(body: Json): Json {
  const config: Json = {};
  const maxTokens = maxOutputTokens(body);
  if (maxTokens !== undefined) config.maxTokens = maxTokens;
  const temperature = numberField(body, 'temperature');
  if (temperature !== undefined) config.temperature = temperature;
  const topP = numberField(body, 'top_p');
  if (topP !== undefined) config.topP = topP;
  if (typeof body.stop === 'string') config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) config.stopSequences = body.stop;
  else if (body.stop !== undefined && body.stop !== null) throw badRequest('stop', 'must be a string or an array');
  return config;
}

export function chatToBedrockRequest(body: Json): Json {
  for (const field of Object.keys(body)) {
    if (!READ_FIELDS.has(field)) throw badRequest(field, 'is not supported for Bedrock models');
  }
  const n = numberField(body, 'n');
  if (n !== undefined && n !== 1) throw badRequest('n', 'Bedrock Converse returns one choice');
  if (isRecord(body.response_format) && body.response_format.type !== 'text') {
    throw badRequest('response_format', 'Bedrock Converse has no JSON mode; only text');
  }
  if (body.parallel_tool_calls === false) {
    throw badRequest('parallel_tool_calls', 'Bedrock Converse cannot be told to call one tool at a time');
  }
  const { system, messages } = convertMessages(body.messages);
  const out: Json = { messages };
  if (system.length) out.system = system;
  const config = inferenceConfig(body);
  if (Object.keys(config).length) out.inferenceConfig = config;
  const tools = toolConfig(body.tools, body.tool_choice);
  if (tools) out.toolConfig = tools;
  return out;
}
