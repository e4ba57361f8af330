// Bounded JSON for every body the app parses. JSON.parse has no depth limit: 9 MB of `[` held the event
// loop for seconds before any route saw the request, and a few thousand levels that did parse later
// overflowed the stack in JSON.stringify (a bare 500). Each chunk of a JSON body is scanned for nesting as
// it arrives; past MAX_JSON_DEPTH the body is refused — nothing more is scanned or kept, and nothing is
// copied into one buffer or parsed. Accepted bodies then go through fastify's own parser
// (secure-json-parse: `__proto__` and `constructor.prototype` keys refused). Body size limits are the
// server's bodyLimit (or a route's), enforced here as fastify's reader does.
// Bodies over WORKER_FROM_BYTES are decoded and parsed by the same parser in a worker thread
// (jsonParsePool.ts): on the main thread a valid 10 MB body held the loop 60–180 ms in one block.
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { asError } from '../retry.js';
import { storableName } from '../spendRecord.js';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './jsonBytes.js';
import { MAX_JSON_DEPTH } from './jsonLimits.js';
import {
  InvalidJsonInWorker,
  type JsonBodyTiming,
  JsonParsePool,
  type JsonParsePoolOptions,
  jsonBodyTimings,
} from './jsonParsePool.js';

/**
 * Counts the nesting of JSON fed to it in pieces (UTF-8 bytes: every byte of a multi-byte character is
 * ≥ 0x80, so it never looks like a bracket or a quote). Brackets inside strings do not count; a quote after
 * an odd run of backslashes is escaped, runs that straddle two pieces included. Linear: string contents are
 * skipped with the native indexOf and each backslash run is walked once. Malformed JSON is left to
 * JSON.parse (an unterminated string simply ends the count).
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  /** Backslashes that ended the previous piece inside a string (only their parity matters). */
  private carriedSlashes = 0;

  constructor(readonly limit: number) {}

  /** Feeds the next piece; true as soon as the nesting has gone past the limit. */
  push(bytes: Uint8Array): boolean {
    const length = bytes.length;
    let depth = this.depth;
    let i = 0;
    while (i < length) {
      if (this.inString) {
        const start = i;
        const quote = bytes.indexOf(QUOTE, i);
        const end = quote < 0 ? length : quote;
        let slashes = 0;
        while (end - 1 - slashes >= start && bytes[end - 1 - slashes] === BACKSLASH) slashes++;
        if (end - slashes === start) slashes += this.carriedSlashes; // the run began in an earlier piece
        if (quote < 0) {
          this.carriedSlashes = slashes;
          break;
        }
        this.carriedSlashes = 0;
        if (slashes % 2 === 0) this.inString = false;
        i = quote + 1;
        continue;
      }
      const c = bytes[i];
      if (c === QUOTE) {
        this.inString = true;
        this.carriedSlashes = 0;
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (++depth > this.limit) {
          this.depth = depth;
          return true;
        }
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        depth--;
      }
      i++;
    }
    this.depth = depth;
    return false;
  }
}

/** True when the JSON text nests arrays/objects deeper than `limit`. */
export function jsonNestsDeeperThan(json: string | Uint8Array, limit: number): boolean {
  return new JsonDepthScanner(limit).push(typeof json === 'string' ? Buffer.from(json, 'utf8') : json);
}

export const tooDeep = (param: string) =>
  new AppError('bad_request', `${param}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, {
    param,
    type: 'invalid_request_error',
  });

/** JSON.parse with the depth limit, for JSON text that is not a request body (query-string values). */
export function parseBoundedJson(text: string, param: string): unknown {
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep(param);
  return JSON.parse(text);
}

type Payload = NodeJS.ReadableStream & { receivedEncodedLength?: number };

const MIB = 1024 * 1024;
/**
 * Bodies larger than this are parsed in a worker. Below it the main thread is cheaper than the round trip;
 * at 1 MiB decoding and parsing on the main thread took 10–20 ms here (bench/jsonBodyStall.ts).
 */
export const WORKER_FROM_BYTES = MIB;

/**
 * The body's bytes: a list of chunks while small; past `bigFrom` one buffer of its own (it moves to the
 * parse worker without a copy), sized from Content-Length when given, else grown by doubling up to the
 * limit — not one Buffer.concat at the end, which faulted in 10 MB of fresh memory in one block.
 */
class BodyBytes {
  private chunks: Buffer[] = [];
  private big: Buffer | null = null;
  length = 0;

  constructor(
    private readonly bigFrom: number,
    private readonly expected: number,
    private readonly limit: number,
  ) {}

  push(bytes: Buffer): void {
    const length = this.length + bytes.length;
    if (!this.big && length > this.bigFrom) {
      const known = Number.isFinite(this.expected) && this.expected >= length;
      this.big = Buffer.allocUnsafeSlow(known ? this.expected : Math.min(this.limit, Math.max(2 * length, 2 * MIB)));
      let at = 0;
      for (const chunk of this.chunks) at += chunk.copy(this.big, at);
      this.chunks = [];
    }
    if (this.big) {
      if (length > this.big.length) {
        const grown = Buffer.allocUnsafeSlow(Math.min(this.limit, Math.max(2 * this.big.length, length)));
        this.big.copy(grown, 0, 0, this.length);
        this.big = grown;
      }
      bytes.copy(this.big, this.length);
    } else this.chunks.push(bytes);
    this.length = length;
  }

  clear(): void {
    this.chunks = [];
    this.big = null;
  }

  /** The bytes; past `bigFrom`, a view at offset 0 of an ArrayBuffer nothing else holds. */
  bytes(): Buffer {
    if (this.big) return this.big.subarray(0, this.length);
    return this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
  }
}

/**
 * The body's bytes, read like fastify's own reader (same size and content-length errors) but with
 * every chunk depth-scanned on arrival. Once a body is too deep, the rest is drained uncounted and
 * unkept, and the 400 is sent when the client has finished sending: answering mid-upload (fastify closes
 * the connection on a parser error) made clients such as curl report a broken pipe instead of the 400.
 */
function readJsonBody(request: FastifyRequest, payload: Payload, limit: number, bigFrom: number): Promise<Buffer> {
  const contentLength = Number(request.headers['content-length']);
  if (contentLength > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  return new Promise((resolve, reject) => {
    const scanner = new JsonDepthScanner(MAX_JSON_DEPTH);
    const body = new BodyBytes(bigFrom, contentLength, limit);
    let received = 0;
    let refused: AppError | null = null;
    const stop = (err: Error) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
      reject(err);
    };
    function onData(chunk: Buffer | string) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      // The decoded size counts, not only the encoded one (a compressing preParsing stream: "zip bomb").
      if (received > limit || (payload.receivedEncodedLength ?? 0) > limit) {
        return stop(refused ?? new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      }
      if (refused) return;
      if (scanner.push(bytes)) {
        refused = tooDeep('body');
        body.clear();
        return;
      }
      body.push(bytes);
    }
    function onEnd(err?: Error & { statusCode?: number }) {
      if (err) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        return stop(err);
      }
      payload.removeListener('data', onData);
      payload.removeListener('error', onEnd);
      if (refused) return reject(refused);
      if (!Number.isNaN(contentLength) && (payload.receivedEncodedLength || received) !== contentLength) {
        return reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      }
      resolve(body.bytes());
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  });
}

type Done = (err: Error | null, body?: unknown) => void;
type JsonParser = (request: FastifyRequest, body: string, done: Done) => void;

/** JSON.parse's own words on `text`, or null when it parses (then only the poisoning rule refused it). */
function parseFailure(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return asError(err).message;
  }
}

/** Why fastify's parser refused a body (the same words whichever thread parsed it). */
function invalidJson(failure: string | null): AppError {
  // V8 quotes a few characters around the error: made printable and short.
  const reason =
    failure === null ? 'a __proto__ or constructor.prototype key is not allowed' : storableName(failure).slice(0, 160);
  return new AppError('bad_request', `body: not valid JSON (${reason})`, {
    param: 'body',
    type: 'invalid_request_error',
  });
}

export interface JsonBodyParserOptions {
  /** Bodies larger than this many bytes are parsed in a worker (default WORKER_FROM_BYTES). */
  workerFromBytes?: number;
  pool?: JsonParsePoolOptions;
}

/**
 * Replaces fastify's application/json parser (root scope: every route sees it). Empty bodies, syntax
 * errors and prototype poisoning are refused by fastify's parser as before (400, now naming `body`).
 * Scopes that register their own parsers (the ingest API's raw `*` parser, the management form parser)
 * keep them. The parse workers start with the first large body and are terminated when the app closes.
 */
export function registerJsonBodyParser(app: FastifyInstance, options: JsonBodyParserOptions = {}): JsonParsePool {
  const { onProtoPoisoning = 'error', onConstructorPoisoning = 'error', bodyLimit } = app.initialConfig;
  const fastifyJson = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning) as unknown as JsonParser;
  const workerFrom = options.workerFromBytes ?? WORKER_FROM_BYTES;
  const pool = new JsonParsePool(
    { protoAction: onProtoPoisoning, constructorAction: onConstructorPoisoning },
    {
      // A parsed value takes a few times its text (3.5M empty objects from 10 MB): 32× the body limit.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(256, Math.ceil(((bodyLimit ?? MIB) * 32) / MIB)) },
      ...options.pool,
    },
  );
  app.addHook('onClose', () => pool.close());
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', (request, payload, done) => {
    const limit = request.routeOptions.bodyLimit ?? bodyLimit ?? MIB;
    readJsonBody(request, payload as Payload, limit, workerFrom).then(
      (bytes) => {
        if (bytes.length > workerFrom) {
          pool.parse(bytes).then(
            (parsed) => done(null, parsed),
            (err: Error) => done(err instanceof InvalidJsonInWorker ? invalidJson(err.reason) : err),
          );
          return;
        }
        // Decoded once, whole: multi-byte characters split across chunks stay intact.
        const started = performance.now();
        const text = bytes.toString('utf8');
        fastifyJson(request, text, (err, parsed) => {
          if (jsonBodyTimings.hasSubscribers) {
            const ms = performance.now() - started;
            jsonBodyTimings.publish({
              path: 'main',
              bytes: bytes.length,
              main_ms: ms,
              max_step_ms: ms,
              steps: 1,
              wall_ms: ms,
            } satisfies JsonBodyTiming);
          }
          if (err && (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
            done(invalidJson(parseFailure(text)));
          } else done(err, parsed);
        });
      },
      (err: Error) => done(err),
    );
  });
  return pool;
}
