// Where a call's text lives, per call type, and an in-place rewrite of every such string. Only text is
// visited — message content and content parts, tool-call arguments, tool results, the completion prompt,
// embedding input, Anthropic `system` — never roles, names, image URLs or base64 sources (a mask there
// would corrupt the request, and a data URL's base64 is not text).
import type { CallType } from '../callGuards.js';

type Rewrite = (text: string, param: string) => string;

/** Keys under which a message object keeps text (OpenAI, Anthropic and Responses shapes; `output` is a tool result). */
const TEXT_KEYS = ['content', 'text', 'tool_calls', 'function', 'arguments', 'input', 'thinking', 'output'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Tool arguments (`input` of a tool_use block) are objects whose every string is the model's text. */
function rewriteAll(node: unknown, param: string, rewrite: Rewrite): unknown {
  if (typeof node === 'string') return rewrite(node, param);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = rewriteAll(node[i], `${param}[${i}]`, rewrite);
  } else if (isObject(node)) {
    for (const key of Object.keys(node)) node[key] = rewriteAll(node[key], `${param}.${key}`, rewrite);
  }
  return node;
}

function rewriteContent(node: unknown, param: string, rewrite: Rewrite): unknown {
  if (typeof node === 'string') return rewrite(node, param);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = rewriteContent(node[i], `${param}[${i}]`, rewrite);
    return node;
  }
  if (!isObject(node)) return node;
  for (const key of TEXT_KEYS) {
    if (!(key in node)) continue;
    const child = `${param}.${key}`;
    node[key] =
      key === 'input' && isObject(node[key])
        ? rewriteAll(node[key], child, rewrite)
        : rewriteContent(node[key], child, rewrite);
  }
  return node;
}

/** Prompts and inputs may also be token arrays (numbers): those are left as they are. */
function rewriteStrings(node: unknown, param: string, rewrite: Rewrite): unknown {
  if (typeof node === 'string') return rewrite(node, param);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      if (typeof node[i] === 'string') node[i] = rewrite(node[i] as string, `${param}[${i}]`);
    }
  }
  return node;
}

/** Rewrites every text string of the request body in place (the body is then what goes upstream). */
export function rewriteRequestText(callType: CallType, body: Record<string, unknown>, rewrite: Rewrite): void {
  const field = (name: string, walk: typeof rewriteContent) => {
    if (body[name] !== undefined) body[name] = walk(body[name], name, rewrite);
  };
  if (callType === 'chat') field('messages', rewriteContent);
  else if (callType === 'messages') {
    field('system', rewriteContent);
    field('messages', rewriteContent);
  } else if (callType === 'responses') {
    field('instructions', rewriteContent);
    field('input', rewriteContent);
  } else if (callType === 'completion') field('prompt', rewriteStrings);
  else field('input', rewriteStrings);
}
