// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered ids keep ClickHouse inserts
// and lookups local, and sort the way calls happened.
import { randomFillSync } from 'node:crypto';

const bytes = new Uint8Array(16);
// Random bytes are drawn in blocks: one syscall per 400 ids instead of one per id.
const pool = new Uint8Array(4000);
let poolOffset = pool.length;

export function uuidv7(nowMs: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  bytes.set(pool.subarray(poolOffset, poolOffset + 10), 6);
  poolOffset += 10;
  let ms = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
