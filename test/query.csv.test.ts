// CSV injection: a cell a spreadsheet would read as a formula (OWASP: leading = + - @ tab CR) is prefixed
// with a quote to stay text; only a cell that is wholly a number (a negative cost) may start with `-`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvText } from '../src/csvText.js';
import { resultToCsv } from '../src/query/csv.js';
import type { SpendQueryResult } from '../src/query/engine.js';

const one = (value: unknown) => csvText([[value]]).slice(0, -2);

describe('csvText formula guard', () => {
  it('hostile cells are prefixed (and quoted when they need it)', () => {
    for (const [cell, written] of [
      ["-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"],
      ['-2+3', "'-2+3"],
      ['-1.5e3+A1', "'-1.5e3+A1"],
      ['1-1', '1-1'],
      ['=1+1', "'=1+1"],
      ['+1', "'+1"],
      ['+1.5', "'+1.5"],
      ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
      ['\t=1', "'\t=1"],
      ['\r=1', `"'\r=1"`],
      ['-', "'-"],
      ['--1', "'--1"],
      ['-1.', "'-1."],
      ['-1 ', "'-1 "],
      ['-1\n=cmd', `"'-1\n=cmd"`],
      ['-1,=cmd', `"'-1,=cmd"`],
      ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ] as const) {
      assert.equal(one(cell), written, JSON.stringify(cell));
    }
  });

  it('numbers as the CSVs write them stay numbers', () => {
    for (const cell of ['0', '12', '-12', '-0.000000005', '1.000000023', '-1e-7', '1.5e+21', '-2E5', '2026-11']) {
      assert.equal(one(cell), cell);
    }
    assert.equal(one(-5), '-5');
    assert.equal(one(-1e-7), '-1e-7');
    assert.equal(one(null), '');
  });

  it('resultToCsv: a negative cost stays a number, a hostile group value is text', () => {
    const result = {
      granularity: 'none',
      group_by: ['tag'],
      metrics: ['cost', 'requests'],
      rows: [
        { tag: "-1+cmd|' /C calc'!A0", cost_usd: '-0.000000005', cost_nano: '-5', requests: '1' },
        { tag: '=2+5', cost_usd: '0.000000010', cost_nano: '10', requests: '2' },
      ],
      totals: { cost_usd: '0.000000005', cost_nano: '5', requests: '3' },
    } as unknown as SpendQueryResult;
    assert.equal(
      resultToCsv(result),
      [
        'row_type,tag,cost_usd,cost_nano,requests',
        "group,'-1+cmd|' /C calc'!A0,-0.000000005,-5,1",
        "group,'=2+5,0.000000010,10,2",
        'total,,0.000000005,5,3',
        '',
      ].join('\r\n'),
    );
  });
});
