// A parsed JSON value sent from the parse worker to the main thread in pieces of bounded size, so that no
// single step on the main thread is large. Handing the whole value back costs the main thread one
// structured-clone deserialisation, which for many small objects is slower than JSON.parse itself (10 MB of
// chat messages: clone 250–320 ms, JSON.parse 100–120 ms here) and cannot be split. Instead the worker walks
// its parsed value and emits, in document order, containers to open and close, keys, batches of small
// children as JSON text (native JSON.parse is the cheapest way to build many small objects), and long
// strings in parts (joined with `+`, a rope: no copy until something reads the whole string). The main
// thread applies a few pieces per event-loop turn. Pure functions: the worker and the tests share them.

/** JSON text (or string characters) per piece and per message: ≤ 5 ms of main-thread work here. */
export const PIECE_CHARS = 128 * 1024;

export type Piece =
  /** A whole value (JSON text) for the current slot. */
  | { t: 'v'; json: string }
  /** Part of a long string for the current slot; the string is placed with its last part. */
  | { t: 's'; part: string; end: boolean }
  /** Open an array or object in the current slot: what follows fills it until `c`. */
  | { t: 'a' }
  | { t: 'o' }
  | { t: 'c' }
  /** The key of the next slot of the open object. */
  | { t: 'k'; key: string }
  /** Children of the open container, JSON text: an array of elements, or of [key, value] pairs. */
  | { t: 'b'; json: string };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Estimated JSON length of `value`, counting stops once past `cap` (so walking a big subtree is cheap). */
function sizeUpTo(value: Json, cap: number): number {
  if (typeof value === 'string') return value.length + 2;
  if (value === null || typeof value !== 'object') return 8;
  let size = 2;
  if (Array.isArray(value)) {
    for (const child of value) {
      size += sizeUpTo(child, cap - size) + 1;
      if (size > cap) return size;
    }
  } else {
    for (const key of Object.keys(value)) {
      size += key.length + 4 + sizeUpTo(value[key] as Json, cap - size);
      if (size > cap) return size;
    }
  }
  return size;
}

/** The pieces of `value`, in the order the assembler applies them. Depth is bounded by the caller (64). */
export function* splitJson(value: unknown, pieceChars = PIECE_CHARS): Generator<Piece> {
  yield* emit(value as Json, pieceChars);
}

function* emit(value: Json, cap: number): Generator<Piece> {
  // Numbers, booleans and null are always whole; strings and containers whole while they fit a piece.
  const scalar = value === null || (typeof value !== 'object' && typeof value !== 'string');
  if (scalar || sizeUpTo(value, cap) <= cap) {
    yield { t: 'v', json: JSON.stringify(value) };
    return;
  }
  if (typeof value === 'string') {
    let at = 0;
    do {
      // A part never ends between the two halves of a surrogate pair (each part stays well-formed text).
      let end = Math.min(at + cap, value.length);
      const last = value.charCodeAt(end - 1);
      if (end < value.length && end - 1 > at && last >= 0xd800 && last <= 0xdbff) end--;
      yield { t: 's', part: value.slice(at, end), end: end === value.length };
      at = end;
    } while (at < value.length);
    return;
  }
  const isArray = Array.isArray(value);
  yield isArray ? { t: 'a' } : { t: 'o' };
  const container = value as Record<string, Json>;
  const keys = isArray ? null : Object.keys(container);
  const count = isArray ? (value as Json[]).length : (keys as string[]).length;
  let batch: unknown[] = [];
  let batchSize = 0;
  for (let i = 0; i < count; i++) {
    const key = keys ? (keys[i] as string) : null;
    const child = (key === null ? (value as Json[])[i] : container[key]) as Json;
    const size = sizeUpTo(child, cap) + (key === null ? 1 : key.length + 4);
    if (batch.length && batchSize + size > cap) {
      yield { t: 'b', json: JSON.stringify(batch) };
      batch = [];
      batchSize = 0;
    }
    if (size <= cap) {
      batch.push(key === null ? child : [key, child]);
      batchSize += size;
      continue;
    }
    if (key !== null) yield { t: 'k', key };
    yield* emit(child, cap);
  }
  if (batch.length) yield { t: 'b', json: JSON.stringify(batch) };
  yield { t: 'c' };
}

/** Sets a key as JSON.parse does: an own `__proto__` key (kept when poisoning is ignored) stays a key. */
function setKey(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else object[key] = value;
}

/** Rebuilds the value from its pieces, applied in order. */
export class JsonAssembler {
  private readonly open: (unknown[] | Record<string, unknown>)[] = [];
  private key: string | null = null;
  private text = '';
  private root: unknown;
  private rooted = false;

  get done(): boolean {
    return this.rooted && this.open.length === 0;
  }

  get value(): unknown {
    return this.root;
  }

  apply(piece: Piece): void {
    switch (piece.t) {
      case 'v':
        this.place(JSON.parse(piece.json));
        return;
      case 's':
        this.text += piece.part;
        if (piece.end) {
          this.place(this.text);
          this.text = '';
        }
        return;
      case 'a':
      case 'o': {
        const container = piece.t === 'a' ? [] : {};
        this.place(container);
        this.open.push(container);
        return;
      }
      case 'c':
        this.open.pop();
        return;
      case 'k':
        this.key = piece.key;
        return;
      case 'b': {
        const top = this.open[this.open.length - 1];
        const children = JSON.parse(piece.json) as unknown[];
        if (Array.isArray(top)) for (const child of children) top.push(child);
        else if (top) for (const [key, child] of children as [string, unknown][]) setKey(top, key, child);
        return;
      }
    }
  }

  private place(value: unknown): void {
    const top = this.open[this.open.length - 1];
    if (!top) {
      this.root = value;
      this.rooted = true;
    } else if (Array.isArray(top)) top.push(value);
    else setKey(top, this.key as string, value);
    this.key = null;
  }
}
