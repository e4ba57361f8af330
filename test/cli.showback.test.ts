// `spendhouse showback`: the same statement as GET /spend/showback (one builder), to stdout or --out, as
// CSV, Parquet or JSON; hostile arguments exit 2 with an error naming the flag.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { runShowbackCli } from '../src/cli/showback.js';
import { runCliProcess } from './helpers/cliProcess.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { insertCalls } from './query.fixtures.js';

const NOV = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

describe('spendhouse showback', () => {
  let t: TestApp;
  let dir = '';

  /** Runs the command in-process: its exit code, what it wrote to stdout and to stderr. */
  async function runCli(args: string[], isTTY = false) {
    const chunks: (string | Uint8Array)[] = [];
    const errors: string[] = [];
    const { error } = console;
    console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
    try {
      const code = await runShowbackCli(args, () => t.config, { write: (c) => chunks.push(c), isTTY });
      return { code, out: chunks.map(String).join(''), err: errors.join('\n') };
    } finally {
      console.error = error;
    }
  }

  before(async () => {
    t = await startTestApp();
    dir = await mkdtemp(join(tmpdir(), 'showback-cli-'));
    await insertCalls(t.app.warehouse, [
      { request_id: 'c-1', start_ms: NOV + DAY, team: 'growth', cost_nano: 1_000_000_001, tags: ['a', 'b'] },
      { request_id: 'c-2', start_ms: NOV + 2 * DAY, team: 'growth', cost_nano: 7, tags: ["-1+cmd|' /C calc'!A0"] },
      { request_id: 'c-3', start_ms: NOV + DAY, team: 'search', cost_nano: 999, tags: ['a'] },
    ]);
  });
  after(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('CSV to stdout: byte for byte what GET /spend/showback answers', async () => {
    const { code, out, err } = await runCli(['--team', 'growth', '--month', '2026-11']);
    assert.equal(code, 0, err);
    const http = await t.app.inject({
      method: 'GET',
      url: '/spend/showback?team_id=growth&month=2026-11',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(http.statusCode, 200, http.body);
    assert.equal(out, http.body);
    const rows = out.trim().split('\r\n');
    assert.equal(rows.length, 1 + 3 + 1);
    assert.ok(rows.includes("line,2026-11,growth,'-1+cmd|' /C calc'!A0,gpt-4o-mini,0.000000007,7,1,10,5,15"), out);
    assert.match(rows.at(-1) ?? '', /^total,2026-11,growth,,,1\.000000008,1000000008,2,/);
  });

  it('--format parquet --out FILE: DuckDB reads it and the lines add up to the total', async () => {
    const path = join(dir, 'growth.parquet');
    const { code, out, err } = await runCli(['--team=growth', '--month=2026-11', '--format', 'parquet', '--out', path]);
    assert.equal(code, 0, err);
    assert.equal(out, '');
    assert.match(err, /growth 2026-11: 3 line\(s\) \+ total/);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const read = await conn.runAndReadAll(
        `SELECT sum(cost_nano)::VARCHAR, count(*)::VARCHAR FROM read_parquet('${path}') WHERE row_type = 'line'`,
      );
      assert.deepEqual(read.getRows()[0]?.map(String), ['1000000008', '3']);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  it('--format json --group-by model --out FILE', async () => {
    const path = join(dir, 'growth.json');
    const { code, err } = await runCli([
      '--team',
      'growth',
      '--month',
      '2026-11',
      '--format',
      'json',
      '--group-by',
      'model',
      '-o',
      path,
    ]);
    assert.equal(code, 0, err);
    const report = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(report.team_id, 'growth');
    assert.deepEqual(
      report.lines.map((l: Record<string, string>) => [l.row_type, l.model, l.cost_nano]),
      [
        ['line', 'gpt-4o-mini', '1000000008'],
        ['total', null, '1000000008'],
      ],
    );
  });

  it('hostile arguments: exit 2, the error names the flag, nothing is written', async () => {
    for (const [args, flag] of [
      [[], '--team'],
      [['--team', 'growth'], '--month'],
      [['--team', 'growth', '--month', '2026-13'], '--month'],
      [['--team', 'growth', '--month', "2026-11'; DROP TABLE spend_logs"], '--month'],
      [['--team', 'gro\u001b[2Jwth', '--month', '2026-11'], '--team'],
      [['--team', '', '--month', '2026-11'], '--team'],
      [['--team', 'g'.repeat(513), '--month', '2026-11'], '--team'],
      [['--team', 'growth', '--month', '2026-11', '--format', 'xlsx'], '--format'],
      [['--team', 'growth', '--month', '2026-11', '--group-by', 'team'], '--group-by'],
      [['--team', 'growth', '--month', '2026-11', '--timezone', 'Mars/Base'], '--timezone'],
      [['--team', 'growth', '--month', '2026-11', '--out', ''], '--out'],
      [['--team', 'growth', '--month', '2026-11', '--bogus', 'x'], '--bogus'],
      [['--team', 'growth', '--month'], '--month'],
      [['--team', 'growth', '--month', '2026-11', 'stray'], 'stray'],
    ] as const) {
      const { code, out, err } = await runCli([...args]);
      assert.equal(code, 2, `${JSON.stringify(args)} → ${err}`);
      assert.equal(out, '', JSON.stringify(args));
      assert.ok(err.startsWith('showback: '), err);
      assert.ok(err.split('\n')[0]?.includes(flag), `${JSON.stringify(args)} → ${err}`);
      assert.match(err, /usage: spendhouse showback/);
      assert.ok(!err.includes('\u001b'), err);
    }
  });

  it('Parquet to a terminal without --out is refused (exit 2, names --out)', async () => {
    const { code, out, err } = await runCli(['--team', 'growth', '--month', '2026-11', '--format', 'parquet'], true);
    assert.equal(code, 2);
    assert.equal(out, '');
    assert.match(err, /^showback: --out: Parquet is binary/);
  });

  it('bin/spendhouse.mjs showback runs the command (real process, the test database)', async () => {
    const run = (args: string[]) =>
      runCliProcess(['showback', ...args], {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CLICKHOUSE_URL: t.config.clickhouse.url,
        CLICKHOUSE_DATABASE: t.config.clickhouse.database,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
      });
    const ok = await run(['--team', 'search', '--month', '2026-11', '--group-by', 'tag']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      [
        'row_type,month,team_id,tag,cost_usd,cost_nano,requests,prompt_tokens,completion_tokens,total_tokens',
        'line,2026-11,search,a,0.000000999,999,1,10,5,15',
        'total,2026-11,search,,0.000000999,999,1,10,5,15',
        '',
      ].join('\r\n'),
    );
    const bad = await run(['--team', 'search', '--month', 'nov']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /showback: --month: expected a month as YYYY-MM/);
  });
});
