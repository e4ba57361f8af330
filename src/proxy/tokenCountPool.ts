// Token counts for calls that end without the provider's usage (an interrupted stream, a provider that
// reports none), counted by one worker thread (tokenCountWorker.ts) so the tokenizer never holds the proxy's
// event loop nor sits in its heap. The worker starts on the first such call and builds the tokenizer (one to
// a few seconds); no call waits for that: until the worker is ready — or if it died — a call gets the
// tokenizer-free estimate (about 4 UTF-8 bytes a token, what the tokenizer itself assumes for very long
// text). Either way the record says usage_estimated. The worker is unref'd while idle (it never keeps a
// process alive) and is started again if it dies — at most every 30 s, so a worker that cannot start costs
// the estimate, never a new thread per call.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../workerThread.js';
import { PROMPT_FIELDS, type PromptShape, promptSize } from './promptSize.js';
import type { CountReply, CountRequest } from './tokenCountWorker.js';

export interface TokenCounts {
  prompt: number;
  completion: number;
}

export interface CountInput {
  /** The request body and its shape when the prompt must be counted; null when the provider counted it. */
  prompt: { shape: PromptShape; body: Record<string, unknown> } | null;
  text: string;
}

interface Pending {
  resolve(counts: TokenCounts): void;
  reject(err: Error): void;
}

const RESTART_DELAY_MS = 30_000;

class TokenCountWorker {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private isReady = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** After a worker died: no new one before this time (a worker that cannot start is not restarted per call). */
  private restartAt = 0;

  /** Starts the worker if it is not running; resolves once its tokenizer is built (the wait holds the process). */
  async warm(): Promise<void> {
    if (!this.ready) this.start();
    const worker = this.worker;
    worker?.ref();
    try {
      await this.ready;
    } finally {
      if (this.pending.size === 0) worker?.unref();
    }
  }

  /** Counts in the worker if it is ready; null (and the worker started in the background) when it is not. */
  tryCount(prompt: CountRequest['prompt'], text: string): Promise<TokenCounts> | null {
    if (!this.isReady || !this.worker) {
      if (!this.ready && Date.now() >= this.restartAt) this.start();
      this.ready?.catch(() => {});
      return null;
    }
    const worker = this.worker;
    const id = this.nextId++;
    return new Promise<TokenCounts>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, prompt, text } satisfies CountRequest);
    });
  }

  private start(): void {
    const worker = startModuleWorker(import.meta.url, './tokenCountWorker');
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: CountReply) => {
        if (reply.type === 'ready') {
          this.isReady = true;
          resolve();
          return;
        }
        const waiting = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (this.pending.size === 0) worker.unref();
        waiting?.resolve({ prompt: reply.prompt, completion: reply.completion });
      });
      const fail = (err: Error) => {
        if (this.worker !== worker) return;
        this.restartAt = Date.now() + RESTART_DELAY_MS;
        this.worker = null;
        this.ready = null;
        this.isReady = false;
        reject(err);
        for (const waiting of this.pending.values()) waiting.reject(err);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`token count worker exited (${code})`)));
    });
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
  }
}

const counter = new TokenCountWorker();

/** Starts the counting worker and resolves once it counts exactly (tests; an operator's warm-up). */
export const warmTokenCounter = () => counter.warm();

const BYTES_PER_TOKEN = 4;
const roughTokens = (text: string) => Math.ceil(Buffer.byteLength(text) / BYTES_PER_TOKEN);

function promptFields(input: CountInput): CountRequest['prompt'] {
  if (!input.prompt) return null;
  const { shape, body } = input.prompt;
  const fields: Record<string, unknown> = {};
  for (const name of PROMPT_FIELDS[shape]) if (body[name] !== undefined) fields[name] = body[name];
  return { shape, fields };
}

/** The prompt's and the text's tokens: exact from the worker, or the rough estimate while it is not ready. */
export async function countTokensOffLoop(input: CountInput): Promise<TokenCounts> {
  const fields = promptFields(input);
  const exact = counter.tryCount(fields, input.text);
  if (exact) {
    try {
      return await exact;
    } catch {
      // The worker died with this count in flight: the estimate below, and a new worker for the next call.
    }
  }
  return {
    prompt: fields ? promptSize(fields.shape, fields.fields, roughTokens) : 0,
    completion: roughTokens(input.text),
  };
}
