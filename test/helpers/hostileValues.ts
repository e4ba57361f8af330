// fast-check arbitraries for hostile input: the strings, numbers and shapes an attacker or a careless client
// sends (lone surrogates, control and bidi characters, SQL and JSON metacharacters, numbers past every range,
// wrong types, deep nesting). The fuzz suite (test/fuzz.hostile.test.ts) puts them into every field of every
// route family.
import fc from 'fast-check';

/** Fragments that broke something once, or would in a weaker system. */
const HOSTILE_FRAGMENTS = [
  '\ud800', // lone high surrogate (ClickHouse refused it: issue 16)
  '\udfff', // lone low surrogate
  '\udc00\ud800', // reversed pair
  '\u0000', // NUL
  '\u001b[31m', // ANSI escape
  '\u202e', // right-to-left override
  '\u2066', // left-to-right isolate
  '\u200b', // zero-width space
  '\u007f', // DEL
  '\u0085', // C1 next line
  '\r\n',
  "'; DROP TABLE spend_logs; --",
  '\\',
  "\\\\'",
  '"',
  '{"a":',
  '%00',
  '%2e%2e%2f',
  '../../etc/passwd',
  '$(id)',
  '__proto__',
  'constructor',
  '😀',
  'sk-not-a-real-key-00000000',
  ' ',
  '',
];

const hostileUnit = fc.oneof(
  fc.constantFrom(...HOSTILE_FRAGMENTS),
  fc.string({ unit: 'binary', maxLength: 3 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.array(hostileUnit, { maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('2026-02-30', '2026-13-01', '2026-01-01T24:00:00Z', '-1d', 'now', '0') },
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    1.5,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53 + 2,
    -(2 ** 53),
    1e21,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    6e6,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** An array nested `depth` levels deep around a value: `[[[…]]]`. */
function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const shallowValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
);

/** Any JSON value a client might put where a field belongs: wrong types, deep nesting, huge arrays. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: shallowValue },
  { weight: 2, arbitrary: fc.array(shallowValue, { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.dictionary(hostileString, shallowValue, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20, max: 800 }).map((depth) => nested(depth, 'deep')) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => `t${i}`)),
  },
);

/** A JSON text that is not a plain object body: truncated, deep, huge, the wrong top-level type. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'null', '[]', '"text"', '42', '{', '{"model":', '{"__proto__":{"admin":true}}', '\u0000'),
  fc.integer({ min: 100, max: 200_000 }).map((depth) => '['.repeat(depth)),
  fc.integer({ min: 100, max: 50_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  hostileString,
);

/** `base` with one field set to a hostile value (or removed, or an extra field added). */
export function mutatedBody(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.keys(base);
  return fc.oneof(
    fc.record({ field: fc.constantFrom(...fields), value: hostileValue }).map(({ field, value }) => ({
      ...base,
      [field]: value,
    })),
    fc.constantFrom(...fields).map((field) => {
      const { [field]: _removed, ...rest } = base;
      return rest;
    }),
    fc.record({ field: hostileString, value: hostileValue }).map(({ field, value }) => ({ ...base, [field]: value })),
  );
}
