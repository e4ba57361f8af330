// The parse worker (worker_threads) behind jsonParsePool.ts: decodes and parses one large JSON body at a time
// with the parser fastify uses (secure-json-parse, the server's prototype-poisoning options), then hands the
// value back in pieces (jsonPieces.ts), a message of at most PIECE_CHARS each time the main thread asks.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { asError } from '../retry.js';
import { PIECE_CHARS, type Piece, splitJson } from './jsonPieces.js';

export interface ParseOptions {
  protoAction: 'error' | 'remove' | 'ignore';
  constructorAction: 'error' | 'remove' | 'ignore';
}

export type ToWorker =
  | { type: 'parse'; buffer: ArrayBuffer; length: number; options: ParseOptions; pieceChars?: number }
  | { type: 'next' }
  | { type: 'cancel' };

export type FromWorker =
  /** The body is not valid JSON (`reason`: JSON.parse's message) or is poisoned (`reason` null). */
  { type: 'invalid'; reason: string | null } | { type: 'pieces'; pieces: Piece[]; done: boolean };

// Resolved from fastify's own folder: the very parser (and version) fastify's default JSON parser runs.
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
const { parse: secureParse } = fastifyRequire('secure-json-parse') as {
  parse(text: string, options: ParseOptions): unknown;
};

const port = parentPort;
if (!port) throw new Error('jsonParseWorker runs in a worker thread');

let pieces: Generator<Piece> | null = null;
/** The piece that did not fit the previous message. */
let held: Piece | null = null;
let pieceChars = PIECE_CHARS;

const charsOf = (piece: Piece) =>
  piece.t === 'v' || piece.t === 'b' ? piece.json.length : piece.t === 's' ? piece.part.length : 8;

/** The next message: pieces up to pieceChars characters in all (at least one piece). */
function sendNext(): void {
  if (!pieces) return;
  const batch: Piece[] = [];
  let chars = 0;
  let done = false;
  for (;;) {
    const piece = held ?? pieces.next().value;
    held = null;
    if (!piece) {
      done = true;
      break;
    }
    if (batch.length && chars + charsOf(piece) > pieceChars) {
      held = piece;
      break;
    }
    batch.push(piece);
    chars += charsOf(piece);
  }
  if (done) pieces = null;
  port?.postMessage({ type: 'pieces', pieces: batch, done } satisfies FromWorker);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'next') return sendNext();
  if (message.type === 'cancel') {
    pieces = null;
    held = null;
    return;
  }
  const text = Buffer.from(message.buffer, 0, message.length).toString('utf8');
  let value: unknown;
  try {
    value = secureParse(text, message.options);
  } catch {
    // As jsonBody.ts does on the main thread: JSON.parse's words, or none when only the poisoning rule failed.
    let reason: string | null = null;
    try {
      JSON.parse(text);
    } catch (err) {
      reason = asError(err).message;
    }
    port.postMessage({ type: 'invalid', reason } satisfies FromWorker);
    return;
  }
  pieceChars = message.pieceChars ?? PIECE_CHARS;
  held = null;
  pieces = splitJson(value, pieceChars);
  sendNext();
});
