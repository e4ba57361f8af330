// Property test of the safe SQL builder against the real ClickHouse server: thousands of generated hostile
// strings and numbers must round-trip exactly through SELECT and through INSERT/SELECT, and never break
// out of their literal.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { createWarehouse, ensureDatabase } from '../src/clickhouse/plugin.js';
import { ident, joinSql, renderValue, Sql, sql } from '../src/clickhouse/sql.js';
import type { Warehouse } from '../src/clickhouse/warehouse.js';
import { seededFloats } from './helpers/seededRandom.js';
import { dropTestState, testConfig } from './helpers/testApp.js';

const config = testConfig();
let warehouse: Warehouse;

before(async () => {
  await ensureDatabase(config.clickhouse);
  warehouse = createWarehouse(config.clickhouse);
  await warehouse.exec(
    sql`CREATE TABLE roundtrip (i UInt32, s String, f Float64, n Int64) ENGINE = MergeTree() ORDER BY i`,
  );
});

after(async () => {
  await warehouse.client.close();
  await dropTestState(config);
});

const HOSTILE_PIECES = [
  "'",
  "''",
  '\\',
  "\\'",
  '"',
  '`',
  '\0',
  '\n',
  '\r\n',
  '\t',
  '\x1b',
  '\x7f',
  '--',
  '/*',
  '*/',
  ';',
  "'); DROP TABLE roundtrip; --",
  "' OR 1=1 --",
  '{name:String}',
  '$1',
  '?',
  'é',
  '日本語',
  '🙂',
  '\u2028',
  '\uFEFF',
  '\\x41',
  '\\0',
  ' ',
  'plain',
];

function hostileString(next: () => number): string {
  const parts = Math.floor(next() * 8);
  let out = '';
  for (let i = 0; i < parts; i++) {
    if (next() < 0.7) out += HOSTILE_PIECES[Math.floor(next() * HOSTILE_PIECES.length)];
    else out += String.fromCodePoint(Math.floor(next() * 0xd7ff));
  }
  return out;
}

function hostileNumber(next: () => number): number {
  const choices = [0, -0, 1, -1, 0.1, -1e-7, 1e21, -(2 ** 53) + 1, 2 ** 53 - 1, 123.456, -98765.4321];
  return next() < 0.5 ? (choices[Math.floor(next() * choices.length)] as number) : (next() - 0.5) * 10 ** (next() * 12);
}

const selectRow = z.object({ s: z.string(), f: z.number(), n: z.coerce.number() });

test('2,000 hostile strings and numbers round-trip through SELECT', async () => {
  // Seeded, so a failure is reproducible (the seed is printed in the assertion message).
  const seed = 20261127;
  const next = seededFloats(seed);
  const cases = Array.from({ length: 2000 }, () => ({ s: hostileString(next), f: hostileNumber(next) }));
  // Batched as UNION ALL of 100 selects per query: fewer round trips, same literal rendering.
  for (let start = 0; start < cases.length; start += 100) {
    const batch = cases.slice(start, start + 100);
    const selects = batch.map((c, i) => sql`SELECT ${start + i} AS i, ${c.s} AS s, toFloat64(${c.f}) AS f, 0 AS n`);
    const rows = await warehouse.rows(
      sql`SELECT s, f, n FROM (${joinSql(selects, ' UNION ALL ')}) ORDER BY i`,
      selectRow,
    );
    assert.equal(rows.length, batch.length, `seed ${seed}: a literal broke out of its query`);
    rows.forEach((row, i) => {
      const expected = batch[i] as { s: string; f: number };
      assert.equal(row.s, expected.s, `seed ${seed}, case ${start + i}: string changed`);
      assert.equal(row.f, expected.f === 0 ? 0 : expected.f, `seed ${seed}, case ${start + i}: number changed`);
    });
  }
});

test('hostile strings round-trip through INSERT … VALUES and SELECT … WHERE', async () => {
  const next = seededFloats(7);
  const cases = Array.from({ length: 2000 }, (_, i) => ({
    i,
    s: hostileString(next),
    n: Math.floor((next() - 0.5) * 1e15),
  }));
  const tuples = cases.map((c) => sql`(${c.i}, ${c.s}, 0, ${c.n})`);
  await warehouse.exec(sql`INSERT INTO roundtrip (i, s, f, n) VALUES ${joinSql(tuples)}`);
  const rows = await warehouse.rows(sql`SELECT s, f, n FROM roundtrip ORDER BY i`, selectRow);
  assert.deepEqual(
    rows.map((r) => [r.s, r.n]),
    cases.map((c) => [c.s, c.n]),
  );
  // Every string must also work as a filter value and match exactly its own row(s).
  for (const c of cases.slice(0, 100)) {
    const count = await warehouse.rows(
      sql`SELECT count() AS matches FROM roundtrip WHERE s = ${c.s}`,
      z.object({ matches: z.coerce.number() }),
    );
    assert.equal(count[0]?.matches, cases.filter((o) => o.s === c.s).length);
  }
});

test('arrays, nulls, booleans, dates and bigints render as typed literals', async () => {
  const row = z.object({
    a: z.array(z.string()),
    e: z.array(z.string()),
    b: z.number(),
    d: z.string(),
    big: z.string(),
  });
  const rows = await warehouse.rows(
    sql`SELECT ${["x'", 'y\\', '']} AS a, ${[]} AS e, ${true} AS b, toString(${new Date('2026-01-02T03:04:05.678Z')}) AS d, toString(${-(2n ** 62n)}) AS big`,
    row,
  );
  assert.deepEqual(rows[0], { a: ["x'", 'y\\', ''], e: [], b: 1, d: '2026-01-02 03:04:05', big: String(-(2n ** 62n)) });
  assert.equal(renderValue(null), 'NULL');
});

test('negative numbers cannot form a comment and non-finite numbers are refused', () => {
  assert.equal(sql`SELECT 1 -${-1}`.text, 'SELECT 1 -(-1)');
  assert.throws(() => sql`SELECT ${Number.NaN}`, /not finite/);
  assert.throws(() => sql`SELECT ${Number.POSITIVE_INFINITY}`, /not finite/);
  assert.throws(() => sql`SELECT ${'\ud800'}`, /lone UTF-16 surrogate/);
});

test('identifiers only from their whitelist', () => {
  const allowed = ['team_id', 'model'] as const;
  assert.ok(ident('team_id', allowed) instanceof Sql);
  assert.equal(ident('model', allowed).text, '`model`');
  assert.throws(() => ident('team_id`; DROP', allowed), /unknown name/);
  assert.throws(() => ident('user_id', allowed), /unknown name/);
});
