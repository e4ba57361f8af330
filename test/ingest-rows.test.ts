// The queued row format (src/ingest/rows.ts): records encoded once by the producer, checked against the
// spend_logs columns, read back for dead letters, stamped with inserted_at by the worker. No services needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchEncoder, EncodedRows, insertableRecordSchema, stampInsertedAt } from '../src/ingest/rows.js';
import type { SpendRecord } from '../src/spendRecord.js';
import { spendRecord } from './helpers/ingestRecords.js';

describe('queued spend rows', () => {
  test('a record its columns cannot hold is refused with the fields at fault; the rest are encoded', () => {
    const encoder = BatchEncoder.of([
      spendRecord('rows', 0),
      { ...spendRecord('rows', 1), duration_ms: 2 ** 32, prompt_tokens: -1 },
      { ...spendRecord('rows', 2), start_time: '2200-01-01T00:00:00Z' },
      { ...spendRecord('rows', 3), cost_nano: Number.NaN },
    ]);
    assert.equal(encoder.rowCount, 1);
    assert.deepEqual(
      encoder.refused.map((r) => [r.record.request_id, r.reason]),
      [
        [
          'rows-1',
          'duration_ms: 4294967296 is outside 0 … 4294967295; prompt_tokens: -1 is outside 0 … 9007199254740991',
        ],
        ['rows-2', 'start_time: outside the storable range 1970-01-01 … 2105-12-31'],
        ['rows-3', 'cost_nano: NaN is outside -9007199254740991 … 9007199254740991'],
      ],
    );
  });

  test('a repeated request_id keeps its first record; payload rows only for records that carry them', () => {
    const first = spendRecord('dup', 1, { messages: '[{"role":"user","content":"hi"}]' });
    const encoder = BatchEncoder.of([first, { ...first, cost_nano: 5 }, spendRecord('dup', 2)]);
    const rows = EncodedRows.fromText(encoder.rows());
    assert.deepEqual(
      rows.keys().map((k) => k.request_id),
      ['dup-1', 'dup-2'],
    );
    assert.equal((rows.record(0) as SpendRecord).cost_nano, first.cost_nano);
    const payloads = encoder.payloads().split('\n');
    assert.equal(payloads.length, 1);
    assert.deepEqual(JSON.parse(payloads[0] ?? ''), {
      request_id: 'dup-1',
      start_time: Math.floor(Date.parse(first.start_time) / 1000),
      messages: first.messages,
      response: '',
    });
  });

  test('a queued row reads back as the record it came from (dead letters keep records)', () => {
    const record = spendRecord('back', 5, { tags: ['b', 'a', 'b'], metadata: { z: '1', a: '2' }, ttft_ms: 40 });
    const rows = EncodedRows.fromText(BatchEncoder.of([record]).rows());
    const back = rows.record(0);
    assert.deepEqual(back, { ...record, tags: ['a', 'b'] });
    assert.equal(insertableRecordSchema.safeParse(back).success, true);
  });

  test('inserted_at is stamped on every row; without() and slice() keep the others', () => {
    const rows = EncodedRows.fromText(BatchEncoder.of([0, 1, 2].map((i) => spendRecord('stamp', i))).rows());
    const stamped = stampInsertedAt(rows.without(new Set(['stamp-1'])).text, 1_700_000_000).split('\n');
    assert.deepEqual(
      stamped
        .map((line) => JSON.parse(line) as { request_id: string; inserted_at: number })
        .map((r) => [r.request_id, r.inserted_at]),
      [
        ['stamp-0', 1_700_000_000],
        ['stamp-2', 1_700_000_000],
      ],
    );
    assert.deepEqual(
      rows
        .slice(1)
        .keys()
        .map((k) => k.request_id),
      ['stamp-1', 'stamp-2'],
    );
  });

  test('the ingest schema reports a time outside the table under the record field', () => {
    const result = insertableRecordSchema.safeParse({ ...spendRecord('api', 1), end_time: '2200-01-01T00:00:00Z' });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.error?.issues.map((i) => i.path.join('.')),
      ['end_time'],
    );
  });
});
