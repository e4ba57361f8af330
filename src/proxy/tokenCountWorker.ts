// The token-count worker (worker_threads) behind tokenCountPool.ts: runs the tokenizer (tokens.ts, one to a
// few seconds to build and 75 MB of ranks) away from the proxy's event loop, for the calls that end without
// the provider's usage. It builds the tokenizer first and then says it is ready.
import { parentPort } from 'node:worker_threads';
import type { PromptShape } from './promptSize.js';
import { countPromptTokens, countTextTokens } from './tokens.js';

export interface CountRequest {
  id: number;
  /** The prompt to count (its PROMPT_FIELDS), or null when the provider reported the prompt's tokens. */
  prompt: { shape: PromptShape; fields: Record<string, unknown> } | null;
  /** The output text seen. */
  text: string;
}

export type CountReply = { type: 'ready' } | { type: 'counts'; id: number; prompt: number; completion: number };

const port = parentPort;
if (!port) throw new Error('tokenCountWorker runs in a worker thread');
countTextTokens('warm up');
port.postMessage({ type: 'ready' } satisfies CountReply);
port.on('message', (request: CountRequest) => {
  port.postMessage({
    type: 'counts',
    id: request.id,
    prompt: request.prompt ? countPromptTokens(request.prompt.shape, request.prompt.fields) : 0,
    completion: countTextTokens(request.text),
  } satisfies CountReply);
});
