// OpenAI chat request → Gemini `generateContent` request: system/developer messages → `systemInstruction`,
// user/assistant turns → `contents` (roles `user` / `model`, consecutive same-role turns merged), images as
// data URLs → `inlineData`, assistant tool calls → `functionCall` parts, tool results → `functionResponse`
// parts, tools → `functionDeclarations` (JSON Schema as `parametersJsonSchema`), and the sampling knobs →
// `generationConfig`. A chat field Gemini has no home for is a 400 naming it, never a silent drop.
import { randomBytes } from 'node:crypto';
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';
import { imageUrlOf, parseDataUrl, parseToolCall } from './chatParts.js';

type Json = Record<string, unknown>;

/**
 * Every chat field this translation reads. `user` (attribution, recorded by Spendhouse), `safety_identifier`
 * (an end-user id for OpenAI's abuse monitoring, which Gemini has no field for), `stream_options` (the proxy
 * always reads usage) and Spendhouse's own `tags` / `metadata` are consumed here, not forwarded.
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
  'top_k',
  'n',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'reasoning_effort',
  'user',
  'safety_identifier',
  'tags',
  'metadata',
]);

/** Gemini's OpenAI-compatible endpoint maps reasoning effort to these thinking budgets. */
const THINKING_BUDGETS: Record<string, number> = { none: 0, low: 1024, medium: 8192, high: 24576 };

/** Gemini 2.5+ signs the thinking behind a function call; the signature rides in the tool call id and back. */
const SIGNATURE_MARK = '__thought__';

export function geminiToolCallId(signature: unknown): string {
  const id = `call_${randomBytes(12).toString('hex')}`;
  return typeof signature === 'string' && signature ? `${id}${SIGNATURE_MARK}${signature}` : id;
}

function signatureOf(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  const at = id.indexOf(SIGNATURE_MARK);
  return at === -1 ? null : id.slice(at + SIGNATURE_MARK.length);
}

function textParts(content: unknown, param: string, allowImages: boolean): Json[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!Array.isArray(content)) throw badRequest(param, 'must be a string or an array of content parts');
  return content.map((part, j) => {
    const at = `${param}[${j}]`;
    if (!isRecord(part)) throw badRequest(at, 'must be an object');
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && allowImages) return imagePart(part, at);
    if (part.type === 'input_audio' && allowImages) return audioPart(part, at);
    throw badRequest(`${at}.type`, `${String(part.type)} is not supported here for Gemini models`);
  });
}

function imagePart(part: Json, at: string): Json {
  const data = parseDataUrl(imageUrlOf(part, at));
  if (!data) throw badRequest(`${at}.image_url.url`, 'Gemini takes images as base64 data: URLs only');
  return { inlineData: { mimeType: data.mediaType, data: data.data } };
}

function audioPart(part: Json, at: string): Json {
  const audio = isRecord(part.input_audio) ? part.input_audio : {};
  if (typeof audio.data !== 'string') throw badRequest(`${at}.input_audio.data`, 'must be a base64 string');
  if (audio.format !== 'wav' && audio.format !== 'mp3') throw badRequest(`${at}.input_audio.format`, 'wav or mp3');
  return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
}

function functionCallParts(toolCalls: unknown, param: string, names: Map<string, string>): Json[] {
  if (toolCalls === undefined || toolCalls === null) return [];
  if (!Array.isArray(toolCalls)) throw badRequest(param, 'must be an array');
  return toolCalls.map((call, j) => {
    const at = `${param}[${j}]`;
    const { id, name, args } = parseToolCall(call, at);
    if (!isRecord(args)) throw badRequest(`${at}.function.arguments`, 'must be a JSON object');
    if (typeof id === 'string') names.set(id, name);
    const signature = signatureOf(id);
    return { functionCall: { name, args }, ...(signature ? { thoughtSignature: signature } : {}) };
  });
}

function pushTurn(contents: Json[], role: 'user' | 'model', parts: Json[]): void {
  if (!parts.length) return;
  const last = contents.at(-1);
  if (last?.role === role && Array.isArray(last.parts)) last.parts.push(...parts);
  else contents.push({ role, parts });
}

function convertMessages(messages: unknown): { system: Json[]; contents: Json[] } {
  if (!Array.isArray(messages)) throw badRequest('messages', 'must be an array');
  const system: Json[] = [];
  const contents: Json[] = [];
  /** tool_call_id → function name: a functionResponse names the function, a chat tool message does not. */
  const names = new Map<string, string>();
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(message)) throw badRequest(at, 'must be an object');
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textParts(message.content, `${at}.content`, false));
        break;
      case 'user':
        pushTurn(contents, 'user', textParts(message.content, `${at}.content`, true));
        break;
      case 'assistant':
        pushTurn(contents, 'model', [
          ...textParts(message.content, `${at}.content`, false),
          ...functionCallParts(message.tool_calls, `${at}.tool_calls`, names),
        ]);
        break;
      case 'tool': {
        const name = typeof message.tool_call_id === 'string' ? names.get(message.tool_call_id) : undefined;
        if (!name) throw badRequest(`${at}.tool_call_id`, 'must name a tool call of an earlier assistant message');
        const text = textParts(message.content, `${at}.content`, false)
          .map((p) => String(p.text))
          .join('');
        pushTurn(contents, 'user', [{ functionResponse: { name, response: { content: text } } }]);
        break;
      }
      default:
        throw badRequest(`${at}.role`, `${String(message.role)} is not supported for Gemini models`);
    }
  });
  return { system, contents };
}

function convertTools(tools: unknown): Json[] | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) throw badRequest('tools', 'must be an array');
  const declarations = tools.map((tool, i) => {
    if (!isRecord(tool) || tool.type !== 'function') throw badRequest(`tools[${i}].type`, 'must be function');
    const fn = isRecord(tool.function) ? tool.function : null;
    if (!fn || typeof fn.name !== 'string') throw badRequest(`tools[${i}].function.name`, 'required');
    return {
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      ...(fn.parameters !== undefined ? { parametersJsonSchema: fn.parameters } : {}),
    };
  });
  return [{ functionDeclarations: declarations }];
}

function convertToolChoice(choice: unknown): Json | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  throw badRequest('tool_choice', 'must be auto, none, required or a named function');
}

function responseFormat(format: unknown): Json {
  if (format === undefined) return {};
  if (!isRecord(format)) throw badRequest('response_format', 'must be an object');
  if (format.type === 'text') return {};
  if (format.type === 'json_object') return { responseMimeType: 'application/json' };
  if (format.type === 'json_schema' && isRecord(format.json_schema) && format.json_schema.schema !== undefined) {
    return { responseMimeType: 'application/json', responseJsonSchema: format.json_schema.schema };
  }
  throw badRequest('response_format', 'must be text, json_object or json_schema with a schema');
}

export const numberField = (body: Json, field: string): number | undefined => {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badRequest(field, 'must be a number');
  return value;
};

/** Both OpenAI fields may be set; the call's budget reservation is bounded by the larger (requestBounds.ts). */
export function maxOutputTokens(body: Json): number | undefined {
  const completion = numberField(body, 'max_completion_tokens');
  const legacy = numberField(body, 'max_tokens');
  return completion === undefined || legacy === undefined ? (completion ?? legacy) : Math.max(completion, legacy);
}

function generationConfig(body: Json): Json {
  const config: Json = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) config[key] = value;
  };
  set('maxOutputTokens', maxOutputTokens(body));
  set('temperature', numberField(body, 'temperature'));
  set('topP', numberField(body, 'top_p'));
  set('topK', numberField(body, 'top_k'));
  set('candidateCount', numberField(body, 'n'));
  set('presencePenalty', numberField(body, 'presence_penalty'));
  set('frequencyPenalty', numberField(body, 'frequency_penalty'));
  set('seed', numberField(body, 'seed'));
  if (typeof body.stop === 'string') config.stopSequences = [body.stop];
  else if (Array.isArray(body.stop)) config.stopSequences = body.stop;
  else if (body.stop !== undefined && body.stop !== null) throw badRequest('stop', 'must be a string or an array');
  if (body.reasoning_effort !== undefined) {
    const budget = THINKING_BUDGETS[String(body.reasoning_effort)];
    if (budget === undefined) throw badRequest('reasoning_effort', 'must be none, low, medium or high for Gemini');
    config.thinkingConfig = { thinkingBudget: budget };
  }
  return { ...config, ...responseFormat(body.response_format) };
}

export function chatToGeminiRequest(body: Json): Json {
  for (const field of Object.keys(body)) {
    if (!READ_FIELDS.has(field)) throw badRequest(field, 'is not supported for Gemini models');
  }
  if (body.parallel_tool_calls === false) {
    throw badRequest('parallel_tool_calls', 'Gemini cannot be told to call one tool at a time');
  }
  const { system, contents } = convertMessages(body.messages);
  const out: Json = { contents };
  if (system.length) out.systemInstruction = { parts: system };
  const tools = convertTools(body.tools);
  if (tools) out.tools = tools;
  const toolConfig = convertToolChoice(body.tool_choice);
  if (toolConfig) out.toolConfig = toolConfig;
  const config = generationConfig(body);
  if (Object.keys(config).length) out.generationConfig = config;
  return out;
}
