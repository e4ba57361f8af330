// A small pool of parse workers (jsonParseWorker.ts) for large JSON bodies: on the main thread, decoding and
// parsing a 10 MB body held the event loop 60–180 ms in one block. Workers start on the first large body,
// are unref'd while idle (an idle pool never keeps a process alive) and are terminated by close(). One body
// per worker at a time, the rest queued in arrival order. The body's bytes go to the worker by transfer
// (no copy); the value comes back in pieces (jsonPieces.ts), one message per event-loop turn, each asked
// for only after the previous one is applied — a MessagePort delivers every queued message in one go, so
// letting the worker push them all would rebuild the block this pool exists to avoid.
import { channel } from 'node:diagnostics_channel';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import { asError } from '../retry.js';
import { startModuleWorker } from '../workerThread.js';
import type { FromWorker, ParseOptions, ToWorker } from './jsonParseWorker.js';
import { JsonAssembler } from './jsonPieces.js';

/** The worker refused the body as JSON: `reason` is JSON.parse's message, null for prototype poisoning. */
export class InvalidJsonInWorker extends Error {
  constructor(readonly reason: string | null) {
    super(reason ?? 'prototype poisoning');
  }
}

/**
 * What each body cost the main thread (bench/jsonBodyStall.ts subscribes): `main_ms` in all, `max_step_ms`
 * the longest single step (decode + parse on the main thread; one piece message on the worker path).
 */
export const jsonBodyTimings = channel('spendhouse:json-body');
export interface JsonBodyTiming {
  path: 'main' | 'worker';
  bytes: number;
  main_ms: number;
  max_step_ms: number;
  steps: number;
  wall_ms: number;
}

interface Job {
  bytes: Buffer;
  /** bytes.length before the transfer (the Buffer is empty afterwards). */
  length: number;
  started: number;
  main: number;
  maxStep: number;
  steps: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  assembler: JsonAssembler | null;
}

export interface JsonParsePoolOptions {
  /** Workers at most (default 2; one on a single-core machine). */
  size?: number;
  /** V8 limits of each worker: a body whose value does not fit kills the worker, not the server. */
  resourceLimits?: ResourceLimits;
  /** Characters per piece (tests use small pieces to cover the protocol with small bodies). */
  pieceChars?: number;
}

let live = 0;
/** Parse workers alive in this process (tests: none are left once their apps are closed). */
export const liveJsonParseWorkers = () => live;

const unavailable = (why: string) =>
  new AppError('service_unavailable', `body: could not be parsed (${why}); retry`, { param: 'body' });

export class JsonParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  private readonly size: number;

  constructor(
    private readonly parseOptions: ParseOptions,
    private readonly options: JsonParsePoolOptions = {},
  ) {
    this.size = Math.max(1, options.size ?? 2);
  }

  /** The parsed value of a JSON body; rejects with InvalidJsonInWorker or an AppError (413, 503). */
  parse(bytes: Buffer): Promise<unknown> {
    if (this.closed) return Promise.reject(unavailable('the server is closing'));
    return new Promise((resolve, reject) => {
      this.queue.push({
        bytes,
        length: bytes.length,
        resolve,
        reject,
        started: performance.now(),
        main: 0,
        maxStep: 0,
        steps: 0,
      });
      this.dispatch();
    });
  }

  /** Terminates every worker; queued and running parses are refused with 503. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(unavailable('the server is closing'));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      this.run(slot, this.queue.shift() as Job);
    }
  }

  private spawn(): Slot {
    const worker = startModuleWorker(import.meta.url, './jsonParseWorker', this.options.resourceLimits);
    live++;
    const slot: Slot = { worker, job: null, assembler: null };
    this.slots.push(slot);
    worker.unref();
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (err: Error & { code?: string }) => {
      // The worker is dying: no new job for it. A body whose value did not fit its heap is refused as too
      // large; any other death, 503.
      this.forget(slot);
      this.fail(
        slot,
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new AppError('payload_too_large', 'body: JSON too large to parse', { param: 'body' })
          : unavailable('the parse worker failed'),
      );
    });
    worker.on('exit', () => {
      live--;
      this.fail(slot, unavailable('the parse worker stopped'));
      this.forget(slot);
      if (!this.closed) this.dispatch();
    });
    return slot;
  }

  private run(slot: Slot, job: Job): void {
    slot.job = job;
    slot.assembler = new JsonAssembler();
    // Held while a body is in the worker: with app.inject no socket keeps the process alive.
    slot.worker.ref();
    const { bytes } = job;
    // Transfer when the Buffer is all of its ArrayBuffer (jsonBody.ts makes it so); otherwise one copy.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const buffer = owned ? (bytes.buffer as ArrayBuffer) : new Uint8Array(bytes).buffer;
    const message: ToWorker = {
      type: 'parse',
      buffer,
      length: bytes.length,
      options: this.parseOptions,
      pieceChars: this.options.pieceChars,
    };
    slot.worker.postMessage(message, [buffer]);
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    const { job, assembler } = slot;
    if (!job || !assembler) return;
    if (message.type === 'invalid') {
      this.finish(slot, () => job.reject(new InvalidJsonInWorker(message.reason)));
      return;
    }
    const started = performance.now();
    try {
      for (const piece of message.pieces) assembler.apply(piece);
    } catch (err) {
      slot.worker.postMessage({ type: 'cancel' } satisfies ToWorker);
      this.finish(slot, () => job.reject(asError(err)));
      return;
    }
    const step = performance.now() - started;
    job.main += step;
    job.maxStep = Math.max(job.maxStep, step);
    job.steps++;
    if (message.done) {
      if (jsonBodyTimings.hasSubscribers) {
        jsonBodyTimings.publish({
          path: 'worker',
          bytes: job.length,
          main_ms: job.main,
          max_step_ms: job.maxStep,
          steps: job.steps,
          wall_ms: performance.now() - job.started,
        } satisfies JsonBodyTiming);
      }
      this.finish(slot, () => job.resolve(assembler.value));
      return;
    }
    // The next piece is asked for on the next turn: timers and sockets run in between.
    setImmediate(() => {
      if (slot.job === job) slot.worker.postMessage({ type: 'next' } satisfies ToWorker);
    });
  }

  private finish(slot: Slot, settle: () => void): void {
    slot.job = null;
    slot.assembler = null;
    slot.worker.unref();
    settle();
    this.dispatch();
  }

  private forget(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
  }

  private fail(slot: Slot, err: Error): void {
    const { job } = slot;
    if (!job) return;
    slot.job = null;
    slot.assembler = null;
    job.reject(err);
  }
}
