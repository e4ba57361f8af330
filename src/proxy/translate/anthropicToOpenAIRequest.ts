// Anthropic Messages request → OpenAI chat request, so the Anthropic SDK (and tools built on it) can call
// OpenAI-compatible models: `system` → a system message, tool_result blocks → `tool` messages, tool_use
// blocks → assistant `tool_calls`, image blocks → `image_url` parts. Thinking blocks are dropped.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';

type Message = Record<string, unknown>;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isRecord(block) && typeof block.text === 'string' ? block.text : '')).join('');
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
      toolResults.push({ role: 'tool', tool_call_id: block.tool_use_id, content: textOf(block.content) });
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
  if (!isRecord(choice)) return {};
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  if (choice.type === 'any') return { tool_choice: 'required', ...parallel };
  if (choice.type === 'none') return { tool_choice: 'none' };
  if (choice.type === 'tool')
    return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
  return { tool_choice: 'auto', ...parallel };
}

export function messagesToChatRequest(body: Record<string, unknown>, upstreamModel: string): Record<string, unknown> {
  if (!Array.isArray(body.messages)) throw badRequest('messages', 'must be an array');
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
  if (Array.isArray(body.tools)) {
    out.tools = body.tools.map((tool, i) => {
      if (!isRecord(tool) || typeof tool.name !== 'string') throw badRequest(`tools[${i}].name`, 'required');
      return {
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.input_schema },
      };
    });
    Object.assign(out, convertToolChoice(body.tool_choice));
  }
  return out;
}
