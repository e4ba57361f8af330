// mulberry32: a repeatable stream of pseudo-random numbers from a seed (a test must give the same calls and the
// same cases on every run). One generator for every test that makes data.

/** The next uint32 of the stream started by `seed`. */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (x ^ (x >>> 14)) >>> 0;
  };
}

/** Integers: `next(mod)` is in [0, mod). */
export function seededInts(seed: number): (mod: number) => number {
  const next = mulberry32(seed);
  return (mod) => next() % mod;
}

/** Floats in [0, 1). */
export function seededFloats(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
