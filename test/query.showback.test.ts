// /spend/showback: one team's month as a statement whose lines (tags split exactly) add up to the team's
// total to the nano-USD — as CSV, Parquet (read back with DuckDB) and JSON; a team admin's key gets only
// its own team, any other key none (403); bad input is a 400 naming the field; past the row limit the 400
// names group_by (the month is fixed).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { runReport } from '../src/query/engine.js';
import { showbackReport } from '../src/query/showback.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp } from './helpers/testApp.js';
import { type CallRow, insertCalls } from './query.fixtures.js';

const NOV = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;

describe('GET /spend/showback', () => {
  let t: TestApp;
  let leadKey = '';
  let devKey = '';
  let searchLeadKey = '';
  const calls: CallRow[] = [
    // growth, November: 1,000,000,001 over {a, b} and 10 over {a, b, c}, 7 untagged, 5 on another model.
    { request_id: 's-1', start_ms: NOV + DAY, team: 'growth', cost_nano: 1_000_000_001, tags: ['a', 'b'] },
    { request_id: 's-2', start_ms: NOV + 2 * DAY, team: 'growth', cost_nano: 10, tags: ['c', 'b', 'a'] },
    { request_id: 's-3', start_ms: NOV + 3 * DAY, team: 'growth', cost_nano: 7 },
    { request_id: 's-4', start_ms: NOV + 4 * DAY, team: 'growth', cost_nano: 5, model: 'gpt-4o', tags: ['a'] },
    // Not in the report: another team, and growth in October and December.
    { request_id: 's-5', start_ms: NOV + DAY, team: 'search', cost_nano: 999, tags: ['a'] },
    { request_id: 's-6', start_ms: NOV - 1, team: 'growth', cost_nano: 1000, tags: ['a'] },
    { request_id: 's-7', start_ms: Date.UTC(2026, 11, 1), team: 'growth', cost_nano: 1000, tags: ['a'] },
  ];
  const get = (url: string, key = TEST_MASTER_KEY) =>
    t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });

  before(async () => {
    t = await startTestApp();
    await insertCalls(t.app.warehouse, calls);
    const admin = async (url: string, payload: Record<string, unknown>) => {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
        payload,
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    await admin('/user/new', { user_id: 'lead', user_role: 'internal_user' });
    await admin('/user/new', { user_id: 'dev', user_role: 'internal_user' });
    await admin('/user/new', { user_id: 'seeker', user_role: 'internal_user' });
    await admin('/team/new', {
      team_id: 'growth',
      members_with_roles: [
        { user_id: 'lead', role: 'admin' },
        { user_id: 'dev', role: 'user' },
      ],
    });
    await admin('/team/new', { team_id: 'search', members_with_roles: [{ user_id: 'seeker', role: 'admin' }] });
    leadKey = (await admin('/key/generate', { user_id: 'lead', team_id: 'growth' })).key;
    devKey = (await admin('/key/generate', { user_id: 'dev', team_id: 'growth' })).key;
    searchLeadKey = (await admin('/key/generate', { user_id: 'seeker', team_id: 'search' })).key;
  });
  after(async () => t?.close());

  it('JSON: lines per tag and model, split exactly, adding up to the team month', async () => {
    const res = await get('/spend/showback?team_id=growth&month=2026-11&format=json');
    assert.equal(res.statusCode, 200, res.body);
    const lines = res.json().lines as Record<string, string | null>[];
    const byKey = Object.fromEntries(
      lines.filter((l) => l.row_type === 'line').map((l) => [`${l.tag ?? '-'}/${l.model}`, l.cost_nano]),
    );
    // {a,b}: 1,000,000,001 → a 500,000,001, b 500,000,000; {a,b,c}: 10 → a 4, b 3, c 3.
    assert.deepEqual(byKey, {
      'a/gpt-4o-mini': '500000005',
      'b/gpt-4o-mini': '500000003',
      'c/gpt-4o-mini': '3',
      '-/gpt-4o-mini': '7',
      'a/gpt-4o': '5',
    });
    const total = lines.find((l) => l.row_type === 'total');
    assert.equal(total?.cost_nano, String(1_000_000_001 + 10 + 7 + 5));
    assert.equal(total?.cost_usd, '1.000000023');
    assert.equal(total?.requests, '4');
  });

  it('CSV and Parquet carry the same lines; DuckDB reads the Parquet and its sum is the total', async () => {
    const csv = await get('/spend/showback?team_id=growth&month=2026-11');
    assert.equal(csv.statusCode, 200, csv.body);
    assert.match(csv.headers['content-disposition'] as string, /showback-growth-2026-11\.csv/);
    const rows = csv.body.trim().split('\r\n');
    assert.equal(
      rows[0],
      'row_type,month,team_id,tag,model,cost_usd,cost_nano,requests,prompt_tokens,completion_tokens,total_tokens',
    );
    assert.equal(rows.length, 1 + 5 + 1);
    assert.match(rows.at(-1) ?? '', /^total,2026-11,growth,,,1\.000000023,1000000023,4,/);

    const parquet = await get('/spend/showback?team_id=growth&month=2026-11&format=parquet');
    assert.equal(parquet.statusCode, 200);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const { writeFile, mkdtemp } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const path = join(await mkdtemp(join(tmpdir(), 'showback-test-')), 'r.parquet');
      await writeFile(path, parquet.rawPayload);
      const read = await conn.runAndReadAll(
        `SELECT sum(cost_nano)::VARCHAR, sum(cost_usd)::VARCHAR, count(*)::VARCHAR FROM read_parquet('${path}') WHERE row_type = 'line'`,
      );
      assert.deepEqual(read.getRows()[0]?.map(String), ['1000000023', '1.000000023', '5']);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  it("a team admin's key reports its own team by default and no other", async () => {
    const own = await get('/spend/showback?month=2026-11&format=json', leadKey);
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().team_id, 'growth');
    const other = await get('/spend/showback?month=2026-11&team_id=search&format=json', leadKey);
    assert.equal(other.statusCode, 403, other.body);
    assert.equal(other.json().error.param, 'team_id');
    assert.match(other.json().error.message, /^team_id: .*only its own team \(growth\)/);
    // The other way round: search's admin may not read growth's month either.
    const theirs = await get('/spend/showback?month=2026-11&team_id=growth&format=json', searchLeadKey);
    assert.equal(theirs.statusCode, 403, theirs.body);
    assert.equal(theirs.json().error.param, 'team_id');
  });

  it("a plain key (not a team admin's) gets no showback, not even of its own team: 403 naming team_id", async () => {
    for (const query of ['month=2026-11', 'month=2026-11&team_id=growth', 'month=2026-11&team_id=growth&format=json']) {
      const res = await get(`/spend/showback?${query}`, devKey);
      assert.equal(res.statusCode, 403, `${query} → ${res.body}`);
      const { error } = res.json();
      assert.equal(error.code, 'forbidden');
      assert.equal(error.param, 'team_id');
      assert.match(error.message, /^team_id: .*team's admins/);
      assert.doesNotMatch(res.body, /cost_usd/);
    }
    // Bad input is still a 400 first, whoever asks.
    const bad = await get('/spend/showback?month=2026-13&team_id=growth', devKey);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.param, 'month');
  });

  it('past the row limit: a 400 naming group_by and what to do (other reports keep their message)', async () => {
    const request = { month: '2026-11', timezone: 'UTC', group_by: ['tag', 'model'] as const, team: 'growth' };
    await assert.rejects(
      showbackReport(t.app.warehouse, { ...request, group_by: [...request.group_by] }, {}, 4),
      (err: { status: number; param: string; message: string }) => {
        assert.equal(err.status, 400);
        assert.equal(err.param, 'group_by');
        assert.match(err.message, /^group_by: the report has more than 4 rows: .*fewer or coarser dimensions/);
        return true;
      },
    );
    // Five lines fit in five rows: the limit is on lines, not one less.
    const fits = await showbackReport(t.app.warehouse, { ...request, group_by: [...request.group_by] }, {}, 5);
    assert.equal(fits.lines.length, 5 + 1);
    // A caller without a hint (the LiteLLM reports) gets the window advice, as before.
    await assert.rejects(
      runReport(
        t.app.warehouse,
        { from: '2026-11-01', to: '2026-12-01', group_by: ['tag'], filters: { team: { in: ['growth'] } } },
        {},
        { maxRows: 1 },
      ),
      (err: { status: number; param: string | null; message: string }) => {
        assert.equal(err.status, 400);
        assert.equal(err.param, null);
        assert.match(err.message, /more than 1 rows: narrow the window/);
        return true;
      },
    );
  });

  it('bad input is a 400 naming the field', async () => {
    for (const [query, param] of [
      ['team_id=growth&month=2026-13', 'month'],
      ['team_id=growth&month=nov', 'month'],
      ['month=2026-11', 'team_id'],
      ['team_id=&month=2026-11', 'team_id'],
      ['team_id=gro%1Bwth&month=2026-11', 'team_id'],
      ['team_id=gro%E2%80%AEwth&month=2026-11', 'team_id'],
      [`team_id=${'g'.repeat(513)}&month=2026-11`, 'team_id'],
      ['team_id=growth&month=2026-11&group_by=team', 'group_by'],
      ['team_id=growth&month=2026-11&group_by=tag,tag', 'group_by'],
      ['team_id=growth&month=2026-11&format=xlsx', 'format'],
      ['team_id=growth&month=2026-11&timezone=Mars/Base', 'timezone'],
      ['team_id=growth&month=2026-11&extra=1', 'extra'],
    ]) {
      const res = await get(`/spend/showback?${query}`);
      assert.equal(res.statusCode, 400, `${query} → ${res.body}`);
      assert.equal(res.json().error.param, param, query);
    }
  });
});
