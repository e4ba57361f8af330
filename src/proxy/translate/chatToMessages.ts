// OpenAI chat request → Anthropic Messages request, so the OpenAI SDK can call Claude unchanged:
// system/developer messages → `system`, tool results → user `tool_result` blocks, assistant tool calls →
// `tool_use` blocks, images → image blocks, consecutive same-role turns merged (Anthropic alternates).
// OpenAI-only sampling knobs Anthropic lacks (penalties, logit_bias, seed, logprobs) are dropped.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

function imageBlock(part: Record<string, unknown>, param: string): Block {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isRecord(image) ? image.url : undefined;
  if (typeof url !== 'string') throw badRequest(`${param}.image_url.url`, 'must be a string');
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
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
    const at = `${param}[${j}]`;
    const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
    if (!fn || typeof fn.name !== 'string') throw badRequest(`${at}.function.name`, 'required');
    let input: unknown = {};
    try {
      input = typeof fn.arguments === 'string' && fn.arguments ? JSON.parse(fn.arguments) : {};
    } catch {
      throw badRequest(`${at}.function.arguments`, 'must be a JSON object');
    }
    return { type: 'tool_use', id: call.id, name: fn.name, input };
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

function convertToolChoice(choice: unknown, parallel: unknown): Block | undefined {
  let out: Block | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (isRecord(choice) && isRecord(choice.function)) out = { type: 'tool', name: choice.function.name };
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function convertTools(tools: unknown): Block[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  return tools.map((tool, i) => {
    const fn = isRecord(tool) && isRecord(tool.function) ? tool.function : null;
    if (!fn || typeof fn.name !== 'string') throw badRequest(`tools[${i}].function.name`, 'required');
    return { name: fn.name, description: fn.description, input_schema: fn.parameters ?? { type: 'object' } };
  });
}

export function chatToMessagesRequest(
  body: Record<string, unknown>,
  upstreamModel: string,
  maxTokens: number,
): Record<string, unknown> {
  if (typeof body.n === 'number' && body.n > 1) throw badRequest('n', 'Anthropic models return one choice');
  const { system, turns } = convertMessages(body.messages);
  const out: Record<string, unknown> = { model: upstreamModel, max_tokens: maxTokens, messages: turns };
  if (system.length) out.system = system;
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.stop === 'string') out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  if (body.stream === true) out.stream = true;
  if (typeof body.user === 'string') out.metadata = { user_id: body.user };
  const tools = convertTools(body.tools);
  if (tools) out.tools = tools;
  const toolChoice = convertToolChoice(body.tool_choice, body.parallel_tool_calls);
  if (toolChoice && tools) out.tool_choice = toolChoice;
  return out;
}
