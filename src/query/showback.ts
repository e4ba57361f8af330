// GET /spend/showback: one team's month as a statement — its spend per tag and model (by default), every
// call with several tags split among them exactly (tagSplit.ts), so the lines add up to the team's total to
// the nano-USD — as CSV (default), Parquet or JSON. Answered by the same planner as /spend/query.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parquetOfRows } from '../archive/parquetRows.js';
import { badRequest } from '../errors.js';
import { lookupText } from '../validation/nameText.js';
import { scopeFor } from './access.js';
import { DIMENSIONS, type Dimension } from './catalog.js';
import { csvText } from './csv.js';
import { type ResultRow, runReport } from './engine.js';
import { checkTimezone } from './time.js';

const GROUPABLE = DIMENSIONS.filter((d) => d !== 'team');
const METRICS = ['cost', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens'] as const;

const showbackSchema = z.strictObject({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM'),
  team_id: lookupText().min(1).max(512).optional(),
  timezone: z.string().max(64).default('UTC'),
  group_by: z
    .string()
    .max(200)
    .default('tag,model')
    .transform((text, ctx) => {
      const dims = text.split(',').filter(Boolean);
      const bad = dims.find((d) => !(GROUPABLE as readonly string[]).includes(d));
      if (bad !== undefined || dims.length === 0 || new Set(dims).size !== dims.length) {
        ctx.addIssue({ code: 'custom', message: `a comma-separated list of distinct ${GROUPABLE.join(', ')}` });
        return z.NEVER;
      }
      return dims as Dimension[];
    }),
  format: z.enum(['csv', 'parquet', 'json']).default('csv'),
});

export interface ShowbackLine {
  row_type: 'line' | 'total';
  month: string;
  team_id: string;
  /** The report's group_by dimensions, in order (null: not set / untagged). */
  [dimension: string]: string | number | null;
}

const nextMonth = (month: string) => {
  const [y = 0, m = 0] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
};

function line(
  row: ResultRow,
  type: ShowbackLine['row_type'],
  head: { month: string; team_id: string },
  dims: Dimension[],
) {
  const out: ShowbackLine = { row_type: type, ...head };
  for (const d of dims) out[d] = type === 'total' ? null : (row[d] ?? null);
  out.cost_usd = row.cost_usd ?? '0.000000000';
  out.cost_nano = String(row.cost_nano ?? 0);
  for (const m of METRICS.slice(1)) out[m] = String(row[m] ?? 0);
  return out;
}

export async function showbackRoutes(app: FastifyInstance): Promise<void> {
  app.get('/spend/showback', async (request, reply) => {
    const principal = await app.authenticate(request);
    const input = showbackSchema.parse(request.query ?? {});
    const scope = scopeFor(principal);
    const team = input.team_id ?? scope.teamId;
    if (team === undefined) throw badRequest('team_id', 'required: the team whose month to report');
    if (scope.teamId !== undefined && team !== scope.teamId) {
      throw badRequest('team_id', 'a team key may report only its own team');
    }
    const timezone = checkTimezone(input.timezone);
    const result = await runReport(
      app.warehouse,
      {
        from: `${input.month}-01`,
        to: `${nextMonth(input.month)}-01`,
        timezone,
        group_by: input.group_by,
        tag_attribution: 'split',
        filters: { team: { in: [team] } },
        metrics: [...METRICS],
        order_by: [{ field: 'cost', direction: 'desc' }],
      },
      scope,
    );
    const head = { month: input.month, team_id: team };
    const lines = [
      ...result.rows.map((r) => line(r, 'line', head, input.group_by)),
      line(result.totals, 'total', head, input.group_by),
    ];
    const columns = ['row_type', 'month', 'team_id', ...input.group_by, 'cost_usd', 'cost_nano', ...METRICS.slice(1)];
    const name = `showback-${team.replace(/[^A-Za-z0-9._-]/g, '_')}-${input.month}`;
    if (input.format === 'json')
      return { month: input.month, team_id: team, timezone, source: result.source_table, lines };
    if (input.format === 'csv') {
      const body = csvText([columns, ...lines.map((l) => columns.map((c) => l[c] ?? null))]);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .send(body);
    }
    const counts = new Set<string>(['cost_nano', ...METRICS.slice(1)]);
    const types = Object.fromEntries(
      columns.map((c) => [c, c === 'cost_usd' ? 'DECIMAL(18,9)' : counts.has(c) ? 'BIGINT' : 'VARCHAR']),
    );
    return reply
      .type('application/vnd.apache.parquet')
      .header('content-disposition', `attachment; filename="${name}.parquet"`)
      .send(await parquetOfRows(lines, types));
  });
}
