// An ingest body → raw records, read as it arrives with bounded work per turn of the event loop. Shapes: a
// JSON array of records, one object, `{"records": [...]}`, or NDJSON (one record a line; a line that is not
// JSON is kept as a SyntaxError for the caller to reject on its own). Gzip bodies are inflated as a stream.
//
// Nothing builds the whole body: JSON.parse of 64 MiB of `[` (a 65 KB gzip) held the event loop for
// seconds, and even copying 64 MiB of inflated text into one buffer took 0.3–1.2 s. Each chunk (raw or
// inflated, at most SCAN_STEP bytes at a time) goes through the RecordSplitter, which finds record
// boundaries (strings, escapes, brackets; every structural character is ASCII and no UTF-8 multi-byte
// sequence holds a byte below 0x80, so bytes are enough), refuses nesting deeper than MAX_JSON_DEPTH with 400
// naming the line, and hands back each record's bytes as soon as it closes; the record is parsed alone.
// A body refused on its first bad chunk is not inflated any further (gzip reads pull, so the inflater
// stops) and what the client still sends is drained unkept before the answer.
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError } from '../errors.js';
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  NEWLINE,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from '../http/jsonBytes.js';
import { MAX_JSON_DEPTH } from '../http/jsonLimits.js';
import { TimeSlicer } from './timeSlice.js';

/** Largest single record (its JSON text): larger ones are rejected on their own, never kept or parsed. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Longest a body may take to inflate and split once the client has sent it. */
export const INFLATE_TIMEOUT_MS = 10_000;
/** Bytes scanned between two looks at the clock (~0.1–0.3 ms of scanning; also the inflater's chunk). */
const SCAN_STEP = 64 * 1024;

const RECORDS_KEY = Buffer.from('"records"');
const EMPTY = Buffer.alloc(0);

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

const syntax = (line: number, message: string) =>
  new AppError('bad_request', `body is not JSON or NDJSON: line ${line}: ${message}`, { param: `(line ${line})` });

/** A record's JSON text (null when larger than MAX_RECORD_BYTES: its bytes were not kept) and its first line. */
export interface RecordText {
  bytes: Buffer | null;
  line: number;
}

/**
 * Splits a body fed in pieces into records. Record boundaries: the elements of a top-level array, the
 * elements of `records` in a top-level `{"records": [...]}`, else each top-level value (NDJSON, or one
 * object, which may span lines). In NDJSON (the first value ended on its line) a line that does not close
 * its value is a record of its own, which then fails to parse and is rejected alone. Only the bytes of the
 * record being read are kept (at most MAX_RECORD_BYTES of them).
 */
export class RecordSplitter {
  private depth = 0;
  private inString = false;
  /** The previous byte was a backslash inside a string (it may have ended the previous piece). */
  private escaped = false;
  private line = 1;
  /** Depth at which a value is a record: 0 until the first value shows the body's shape. */
  private recordDepth = 0;
  private shape: 'unknown' | 'array' | 'wrapper' | 'values' = 'unknown';
  private ndjson = false;
  /** The top-level array or wrapper closed: only whitespace may follow. */
  private done = false;
  /** A bare top-level value (NDJSON `123`, `"x"`): the rest of its line is the record. */
  private bareLine = false;
  /** Offset of the first byte of the current piece in the whole body. */
  private pos = 0;
  /** Offset of the record being read (-1: none), its first line, and its bytes from earlier pieces. */
  private start = -1;
  private startLine = 1;
  private pieces: Buffer[] = [];
  private oversized = false;
  /** How much of `"records"` the string being read at depth 1 has matched (-1: not it). */
  private keyMatched = -1;
  private lastStringIsRecords = false;
  private lastKeyIsRecords = false;
  /**
   * Offset of a line break inside the first value of a body of unknown shape: if the next non-space byte
   * opens an object, the body is NDJSON whose first line is broken, and that line is a record of its own
   * (a pretty-printed object would go on with a key or a value, not `{` — except in styles nobody sends
   * machines).
   */
  private breakInFirstValue = -1;

  /** Bytes fed so far. */
  get offset(): number {
    return this.pos;
  }

  /** Feeds the next piece of the body; returns the records that closed in it. Throws a 400 on bad syntax. */
  push(piece: Buffer): RecordText[] {
    const out: RecordText[] = [];
    const { length } = piece;
    for (let i = 0; i < length; i++) {
      const b = piece[i] as number;
      if (this.bareLine) {
        if (b !== NEWLINE) continue;
        this.bareLine = false;
        this.take(piece, this.pos + i, out);
      }
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.keyMatched = -1;
        } else if (b === BACKSLASH) {
          this.escaped = true;
          this.keyMatched = -1;
        } else if (b === QUOTE) {
          this.inString = false;
          this.lastStringIsRecords = this.keyMatched === RECORDS_KEY.length - 1;
        } else if (b === NEWLINE) {
          // No JSON string holds a raw newline: NDJSON with a broken line (that line is rejected alone), or
          // a broken document.
          if (this.shape === 'unknown') {
            this.shape = 'values';
            this.ndjson = true;
          }
          if (!this.ndjson) throw syntax(this.line, 'a string holds a raw line break');
          this.take(piece, this.pos + i, out);
          this.inString = false;
          this.depth = 0;
          this.line++;
        } else if (this.keyMatched >= 0) {
          this.keyMatched = RECORDS_KEY[this.keyMatched] === b ? this.keyMatched + 1 : -1;
        }
        continue;
      }
      if (b === NEWLINE) {
        if (this.shape === 'unknown' && this.depth > 0 && this.breakInFirstValue === -1) {
          this.breakInFirstValue = this.pos + i;
        }
        if (this.ndjson && this.depth > 0) {
          this.take(piece, this.pos + i, out);
          this.depth = 0;
        }
        this.line++;
        continue;
      }
      if (isSpace(b)) continue;
      if (this.breakInFirstValue !== -1) {
        const at = this.breakInFirstValue;
        this.breakInFirstValue = -1;
        if (this.shape === 'unknown' && this.depth > 0 && b === OPEN_OBJECT) {
          this.shape = 'values';
          this.ndjson = true;
          this.take(piece, at, out);
          this.depth = 0;
        }
      }
      if (this.done) throw syntax(this.line, 'unexpected text after the records');
      const opens = b === OPEN_ARRAY || b === OPEN_OBJECT;
      const inArray = this.shape === 'array' || this.shape === 'wrapper';
      if (this.depth === this.recordDepth) {
        if (b === COMMA && inArray) {
          if (this.start !== -1) this.take(piece, this.pos + i, out); // a scalar element
          continue;
        }
        if (this.start === -1 && b !== CLOSE_ARRAY && b !== CLOSE_OBJECT) {
          this.start = this.pos + i;
          this.startLine = this.line;
          if (!opens && !inArray) {
            this.bareLine = true;
            if (this.shape === 'unknown') {
              this.shape = 'values';
              this.ndjson = true;
            }
            continue;
          }
        }
      }
      if (b === QUOTE) {
        this.inString = true;
        this.keyMatched = this.depth === 1 ? 1 : -1;
      } else if (opens) {
        if (this.shape === 'unknown' && this.depth === 0 && b === OPEN_ARRAY) {
          this.shape = 'array';
          this.recordDepth = 1;
          this.forget();
        } else if (this.shape === 'unknown' && this.depth === 1 && b === OPEN_ARRAY && this.lastKeyIsRecords) {
          this.shape = 'wrapper';
          this.recordDepth = 2;
          this.forget(); // the wrapper object is not a record: its records are
        }
        this.depth++;
        if (this.depth > MAX_JSON_DEPTH) throw syntax(this.line, `nested deeper than ${MAX_JSON_DEPTH} levels`);
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
        if (this.depth === 0) throw syntax(this.line, `unexpected ${String.fromCharCode(b)}`);
        if (this.depth === this.recordDepth && this.start !== -1) this.take(piece, this.pos + i, out); // a scalar last element
        this.depth--;
        if (this.depth === this.recordDepth && this.start !== -1) {
          this.take(piece, this.pos + i + 1, out);
          if (this.shape === 'unknown') {
            this.shape = 'values';
            this.ndjson = this.startLine === this.line;
          }
        }
        // The records array (or the top-level array) ended: nothing after it is a record.
        if (inArray && this.depth === this.recordDepth - 1) this.recordDepth = -1;
        if (inArray && this.depth === 0) this.done = true;
      } else if (b === COLON && this.depth === 1) {
        this.lastKeyIsRecords = this.lastStringIsRecords;
      }
    }
    this.keep(piece);
    this.pos += length;
    return out;
  }

  /** The body ended: the last record, if one is open (a 400 unless the body is NDJSON). */
  end(): RecordText[] {
    const out: RecordText[] = [];
    if (this.bareLine) {
      this.bareLine = false;
      this.take(EMPTY, this.pos, out);
    }
    if (this.inString || this.depth > 0) {
      if (!this.ndjson) throw syntax(this.line, 'the body ends inside a value');
      this.take(EMPTY, this.pos, out);
    }
    return out;
  }

  /** The open record's bytes in this piece are kept for later, up to MAX_RECORD_BYTES. */
  private keep(piece: Buffer): void {
    if (this.start === -1 || this.oversized) return;
    if (this.pos + piece.length - this.start > MAX_RECORD_BYTES) {
      this.oversized = true;
      this.pieces = [];
      return;
    }
    this.pieces.push(piece.subarray(Math.max(0, this.start - this.pos)));
  }

  /** Closes the open record at body offset `end` (exclusive; it may lie in an earlier piece). */
  private take(piece: Buffer, end: number, out: RecordText[]): void {
    const length = end - this.start;
    let bytes: Buffer | null = null;
    if (!this.oversized && length <= MAX_RECORD_BYTES) {
      const tail = end > this.pos ? piece.subarray(Math.max(0, this.start - this.pos), end - this.pos) : EMPTY;
      bytes = this.pieces.length ? Buffer.concat([...this.pieces, tail]).subarray(0, length) : tail;
    }
    out.push({ bytes, line: this.startLine });
    this.forget();
  }

  private forget(): void {
    this.start = -1;
    this.pieces = [];
    this.oversized = false;
  }
}

/** A record's text → its value, or a SyntaxError naming its line (not JSON, or too large to parse). */
function parseRecord({ bytes, line }: RecordText): unknown {
  if (bytes === null) return new SyntaxError(`line ${line}: a record is larger than ${MAX_RECORD_BYTES} bytes`);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    return new SyntaxError(`line ${line}: ${(err as Error).message}`);
  }
}

/** Splits and parses pieces of a body, yielding the loop every few ms. */
class RecordReader {
  readonly records: unknown[] = [];
  private readonly splitter = new RecordSplitter();
  private readonly slicer = new TimeSlicer();

  constructor(private readonly maxRecords: number) {}

  get scanned(): number {
    return this.splitter.offset;
  }

  async push(chunk: Buffer): Promise<void> {
    for (let from = 0; from < chunk.length; from += SCAN_STEP) {
      await this.add(this.splitter.push(chunk.subarray(from, from + SCAN_STEP)));
    }
  }

  async end(): Promise<unknown[]> {
    await this.add(this.splitter.end());
    return this.records;
  }

  private async add(texts: RecordText[]): Promise<void> {
    for (const text of texts) {
      if (this.records.length === this.maxRecords) {
        throw new AppError('payload_too_large', `at most ${this.maxRecords} records per request`);
      }
      this.records.push(parseRecord(text));
      await this.slicer.slice();
    }
    await this.slicer.slice();
  }
}

/** Body bytes already in hand (a file for `npm run import`) → raw records. */
export async function parseRecordBody(body: Buffer, maxRecords = Number.POSITIVE_INFINITY): Promise<unknown[]> {
  const reader = new RecordReader(maxRecords);
  await reader.push(body);
  return reader.end();
}

export interface BodyLimits {
  /** Largest body, on the wire and once inflated: 413 past it. */
  maxBytes: number;
  /** Most records: 413 past it. */
  maxRecords: number;
  /** The Content-Encoding header: none, identity or gzip. */
  encoding?: string;
  /** The Content-Length header, when sent: a larger one is refused before a byte is read. */
  contentLength?: number;
  /** Longest the inflating and splitting may take once the client has sent the body: 400 past it. */
  timeoutMs?: number;
}

/** What a read got through (tests assert on it: a body refused early is not inflated further). */
export interface BodyProgress {
  /** Bytes received from the client. */
  received: number;
  /** Bytes of the gzip body the inflater took in (a body refused early leaves the rest uninflated). */
  inflatedFrom: number;
  /** Bytes split into records (after inflating). */
  scanned: number;
}

/** Reads what the client still sends, unkept, up to the byte limit (a client cut off mid-upload sees no answer). */
function drain(payload: Readable, progress: BodyProgress, maxBytes: number): Promise<void> {
  if (payload.readableEnded || payload.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      payload.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      progress.received += chunk.length;
      if (progress.received > maxBytes) finish();
    };
    payload.on('data', onData);
    payload.once('end', finish);
    payload.once('close', finish);
    payload.once('error', finish);
    payload.resume();
  });
}

const cutOff = () => new AppError('bad_request', 'the body was cut off before its end');

const tooLarge = (maxBytes: number, inflated: boolean) =>
  new AppError('payload_too_large', `body is larger than ${maxBytes} bytes${inflated ? ' once decompressed' : ''}`);

/**
 * A request body stream → raw records, split as the bytes arrive (and inflated as they are split, for gzip).
 * Refusals — 413 past the byte or record limit, 400 for syntax, bad gzip or the time limit — come once the
 * client has finished sending (the rest drained unkept), so the client reads the answer.
 */
export async function readRecordBody(
  payload: Readable,
  limits: BodyLimits,
  progress: BodyProgress = { received: 0, inflatedFrom: 0, scanned: 0 },
): Promise<unknown[]> {
  const { maxBytes, encoding, contentLength, timeoutMs = INFLATE_TIMEOUT_MS } = limits;
  if (contentLength !== undefined && contentLength > maxBytes) throw tooLarge(maxBytes, false);
  const gzip = encoding === 'gzip';
  if (encoding && encoding !== 'identity' && !gzip) {
    await drain(payload, progress, maxBytes);
    throw new AppError('bad_request', `unsupported Content-Encoding ${encoding}; use gzip`);
  }
  const reader = new RecordReader(limits.maxRecords);
  const gunzip = gzip ? createGunzip({ chunkSize: SCAN_STEP }) : null;
  let timer: NodeJS.Timeout | undefined;
  // Gzip only: the inflater must not outlive the upload by long (a plain body is split as it arrives).
  const onEnd = () => {
    timer = setTimeout(
      () => gunzip?.destroy(new AppError('bad_request', `body took longer than ${timeoutMs} ms to decompress`)),
      timeoutMs,
    );
  };
  const countRaw = (chunk: Buffer) => {
    progress.received += chunk.length;
    if (progress.received > maxBytes) gunzip?.destroy(tooLarge(maxBytes, false));
  };
  // pipe() does not pass on the request's failure: a client gone mid-upload must end the read too.
  const onClose = () => {
    if (!payload.readableEnded) gunzip?.destroy(cutOff());
  };
  try {
    if (gunzip) {
      payload.once('end', onEnd);
      payload.once('close', onClose);
      payload.on('data', countRaw);
      payload.pipe(gunzip);
      for await (const chunk of gunzip) {
        progress.inflatedFrom = gunzip.bytesWritten;
        if (reader.scanned + (chunk as Buffer).length > maxBytes) throw tooLarge(maxBytes, true);
        await reader.push(chunk as Buffer);
        progress.scanned = reader.scanned;
      }
    } else {
      // The request stream is not destroyed on a refusal: it is drained below.
      for await (const chunk of payload.iterator({ destroyOnReturn: false })) {
        progress.received += (chunk as Buffer).length;
        if (progress.received > maxBytes) throw tooLarge(maxBytes, false);
        await reader.push(chunk as Buffer);
        progress.scanned = reader.scanned;
      }
    }
    return await reader.end();
  } catch (err) {
    if (gunzip) {
      progress.inflatedFrom = gunzip.bytesWritten;
      payload.unpipe(gunzip);
      gunzip.destroy();
    }
    payload.removeListener('data', countRaw);
    if (progress.received <= maxBytes) await drain(payload, progress, maxBytes);
    if (err instanceof AppError) throw err;
    if (payload.destroyed && !payload.readableEnded) throw cutOff();
    if (gunzip && (err as { code?: string }).code?.startsWith('Z_')) {
      throw new AppError('bad_request', 'body is not valid gzip');
    }
    throw err;
  } finally {
    clearTimeout(timer);
    payload.removeListener('end', onEnd);
    payload.removeListener('close', onClose);
    payload.removeListener('data', countRaw);
  }
}
