// An ingest body (bytes) → raw records, with bounded work per turn of the event loop. Shapes: a JSON array
// of records, one object, `{"records": [...]}`, or NDJSON (one record a line; a line that is not JSON is
// kept as a SyntaxError for the caller to reject on its own). Gzip bodies are inflated as a stream with a
// byte limit and a time limit.
//
// JSON.parse of a whole body is not bounded: 64 MiB of `[` (a 65 KB gzip) held the event loop for seconds.
// Instead one pass over the bytes finds each record's span (strings, escapes, brackets; every structural
// character is ASCII and no UTF-8 multi-byte sequence holds a byte below 0x80, so bytes are enough),
// refuses nesting deeper than MAX_DEPTH with 400 naming the line, and yields every few milliseconds
// (TimeSlicer); each record is then parsed on its own, at most MAX_RECORD_BYTES of it.
import { createGunzip } from 'node:zlib';
import { AppError } from '../errors.js';
import { TimeSlicer } from './timeSlice.js';

/** Deepest nesting anywhere in a body (a LiteLLM payload with messages is ~10 deep). */
export const MAX_DEPTH = 64;
/** Largest single record (its JSON text): larger ones are rejected on their own, never parsed. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Longest a gzip body may take to inflate (a 64 MiB body takes well under a second). */
export const INFLATE_TIMEOUT_MS = 10_000;
/** Bytes scanned between two looks at the clock. */
const SCAN_STEP = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const RECORDS_KEY = Buffer.from('"records"');

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** Inflates a gzip body as a stream: 413 past `maxBytes` of output, 400 past `timeoutMs` or when not gzip. */
export function inflateBounded(body: Buffer, maxBytes: number, timeoutMs = INFLATE_TIMEOUT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    const chunks: Buffer[] = [];
    let total = 0;
    const fail = (err: AppError) => {
      clearTimeout(timer);
      gunzip.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new AppError('bad_request', `body took longer than ${timeoutMs} ms to decompress`)),
      timeoutMs,
    );
    gunzip.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes)
        fail(new AppError('payload_too_large', `body is larger than ${maxBytes} bytes once decompressed`));
      else chunks.push(chunk);
    });
    gunzip.on('error', () => fail(new AppError('bad_request', 'body is not valid gzip')));
    gunzip.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks, total));
    });
    gunzip.end(body);
  });
}

function nextNonSpace(body: Buffer, from: number): number {
  let i = from;
  while (i < body.length && isSpace(body[i] as number)) i++;
  return i;
}

const isRecordsKey = (body: Buffer, keyStart: number) =>
  keyStart >= 0 && body.subarray(keyStart, keyStart + RECORDS_KEY.length).equals(RECORDS_KEY);

interface Span {
  start: number;
  end: number;
  line: number;
}

const syntax = (line: number, message: string) =>
  new AppError('bad_request', `body is not JSON or NDJSON: line ${line}: ${message}`, { param: `(line ${line})` });

/**
 * The byte spans of the records in `body`. Record boundaries: the elements of a top-level array, the
 * elements of `records` in a top-level `{"records": [...]}`, else each top-level value (NDJSON, or one
 * object, which may span lines). In NDJSON (the first value ended on its line) a line that does not close
 * its value is a span of its own, which then fails to parse and is rejected alone.
 */
async function recordSpans(body: Buffer): Promise<Span[]> {
  const spans: Span[] = [];
  const slicer = new TimeSlicer();
  let depth = 0;
  let inString = false;
  let line = 1;
  /** Depth at which a value is a record: 0 until the first value shows the body's shape. */
  let recordDepth = 0;
  let shape: 'unknown' | 'array' | 'wrapper' | 'values' = 'unknown';
  let ndjson = false;
  /** The top-level array or wrapper closed: only whitespace may follow. */
  let done = false;
  let start = -1;
  let startLine = 1;
  let lastKeyStart = -1;
  let stringStart = -1;
  for (let i = 0; i < body.length; ) {
    const stop = Math.min(body.length, i + SCAN_STEP);
    for (; i < stop; i++) {
      const b = body[i] as number;
      if (inString) {
        if (b === BACKSLASH) i++;
        else if (b === QUOTE) inString = false;
        else if (b === NEWLINE) {
          // No JSON string holds a raw newline: NDJSON with a broken line (that line is rejected alone), or
          // a broken document.
          if (shape === 'unknown') {
            shape = 'values';
            ndjson = true;
          }
          if (!ndjson) throw syntax(line, 'a string holds a raw line break');
          spans.push({ start, end: i, line: startLine });
          inString = false;
          depth = 0;
          start = -1;
          line++;
        }
        continue;
      }
      if (b === NEWLINE) {
        // NDJSON with a broken first line: the next line starts a record of its own (a pretty-printed
        // object would go on with a key or a value, not `{` — except in styles nobody sends machines).
        if (shape === 'unknown' && depth > 0 && body[nextNonSpace(body, i + 1)] === OPEN_OBJECT) {
          shape = 'values';
          ndjson = true;
        }
        if (ndjson && depth > 0) {
          spans.push({ start, end: i, line: startLine });
          depth = 0;
          start = -1;
        }
        line++;
        continue;
      }
      if (isSpace(b)) continue;
      if (done) throw syntax(line, 'unexpected text after the records');
      const opens = b === OPEN_ARRAY || b === OPEN_OBJECT;
      const inArray = shape === 'array' || shape === 'wrapper';
      if (depth === recordDepth) {
        if (b === COMMA && inArray) {
          if (start !== -1) spans.push({ start, end: i, line: startLine }); // a scalar element
          start = -1;
          continue;
        }
        if (start === -1 && b !== CLOSE_ARRAY && b !== CLOSE_OBJECT) {
          start = i;
          startLine = line;
          if (!opens && !inArray) {
            // A bare value at the top (NDJSON `123`, `"x"`): the rest of its line is its span.
            let end = body.indexOf(NEWLINE, i);
            if (end === -1) end = body.length;
            spans.push({ start, end, line: startLine });
            start = -1;
            if (shape === 'unknown') {
              shape = 'values';
              ndjson = true;
            }
            i = end - 1;
            continue;
          }
        }
      }
      if (b === QUOTE) {
        inString = true;
        stringStart = i;
      } else if (opens) {
        if (shape === 'unknown' && depth === 0 && b === OPEN_ARRAY) {
          shape = 'array';
          recordDepth = 1;
          start = -1;
        } else if (shape === 'unknown' && depth === 1 && b === OPEN_ARRAY && isRecordsKey(body, lastKeyStart)) {
          shape = 'wrapper';
          recordDepth = 2;
          start = -1;
        }
        depth++;
        if (depth > MAX_DEPTH) throw syntax(line, `nested deeper than ${MAX_DEPTH} levels`);
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
        if (depth === 0) throw syntax(line, `unexpected ${String.fromCharCode(b)}`);
        if (depth === recordDepth && start !== -1) {
          spans.push({ start, end: i, line: startLine }); // a scalar last element
          start = -1;
        }
        depth--;
        if (depth === recordDepth && start !== -1) {
          spans.push({ start, end: i + 1, line: startLine });
          start = -1;
          if (shape === 'unknown') {
            shape = 'values';
            ndjson = startLine === line;
          }
        }
        // The records array (or the top-level array) ended: nothing after it is a record.
        if (inArray && depth === recordDepth - 1) recordDepth = -1;
        if (inArray && depth === 0) done = true;
      } else if (b === COLON && depth === 1) {
        lastKeyStart = stringStart;
      }
    }
    await slicer.slice();
  }
  if (inString || depth > 0) {
    if (!ndjson) throw syntax(line, 'the body ends inside a value');
    spans.push({ start, end: body.length, line: startLine });
  }
  return spans;
}

/** Body bytes → raw records; a record that is not JSON (or too large to parse) is a SyntaxError naming its line. */
export async function parseRecordBody(body: Buffer): Promise<unknown[]> {
  const spans = await recordSpans(body);
  const slicer = new TimeSlicer();
  const records: unknown[] = [];
  for (const { start, end, line } of spans) {
    if (end - start > MAX_RECORD_BYTES) {
      records.push(new SyntaxError(`line ${line}: a record is larger than ${MAX_RECORD_BYTES} bytes`));
      continue;
    }
    try {
      records.push(JSON.parse(body.toString('utf8', start, end)) as unknown);
    } catch (err) {
      records.push(new SyntaxError(`line ${line}: ${(err as Error).message}`));
    }
    await slicer.slice();
  }
  return records;
}
