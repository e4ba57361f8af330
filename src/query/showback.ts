// GET /spend/showback and `spendhouse showback`: one team's month as a statement — its spend per tag and
// model (by default), every call with several tags split among them exactly (tagSplit.ts), so the lines add
// up to the team's total to the nano-USD — as CSV (default), Parquet or JSON. Answered by the same planner as
// /spend/query. Who may ask: a principal that sees all spend (master key, proxy admins) any team; a key of
// one of a team's admins that team; any other key is refused (403): its own calls are not the team's month.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parquetOfRows } from '../archive/parquetRows.js';
import type { Principal } from '../auth/principal.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import { csvText } from '../csvText.js';
import { AppError, badRequest } from '../errors.js';
import { nameText } from '../validation/nameText.js';
import { scopeFor } from './access.js';
import type { AccessScope } from './build.js';
import { DIMENSIONS, type Dimension } from './catalog.js';
import { type ResultRow, runReport } from './engine.js';
import { checkTimezone } from './time.js';

const GROUPABLE = DIMENSIONS.filter((d) => d !== 'team');
const METRICS = ['cost', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens'] as const;
export const SHOWBACK_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ShowbackFormat = (typeof SHOWBACK_FORMATS)[number];

/** The request (HTTP query string, or the CLI's flags under these names). */
export const showbackSchema = z.strictObject({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM'),
  // Spend records carry storable names only (nameText.ts): a team id that is not one can match nothing.
  team_id: nameText(512).optional(),
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
  format: z.enum(SHOWBACK_FORMATS).default('csv'),
});
export type ShowbackRequest = z.output<typeof showbackSchema>;

export interface ShowbackLine {
  row_type: 'line' | 'total';
  month: string;
  team_id: string;
  /** The report's group_by dimensions, in order (null: not set / untagged). */
  [dimension: string]: string | number | null;
}

export interface ShowbackReport {
  month: string;
  team_id: string;
  timezone: string;
  source: string;
  columns: string[];
  lines: ShowbackLine[];
}

/** A file of the report: its content type, a file name and the bytes. */
export interface ShowbackFile {
  contentType: string;
  filename: string;
  body: string | Buffer;
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

/**
 * The team a principal may report on, and the scope to read it under: all spend → any team (team_id
 * required); a team admin's key → its own team (the default); any other key → 403 naming team_id.
 */
export function showbackAccess(principal: Principal, teamId: string | undefined): { team: string; scope: AccessScope } {
  const scope = scopeFor(principal);
  if (scope.keyHash !== undefined) {
    throw new AppError(
      'forbidden',
      "team_id: a showback report needs the master key, a proxy admin's key or a key of one of the team's admins; this key may read only its own calls",
      { param: 'team_id' },
    );
  }
  if (scope.teamId === undefined) {
    if (teamId === undefined) throw badRequest('team_id', 'required: the team whose month to report');
    return { team: teamId, scope };
  }
  const team = teamId ?? scope.teamId;
  if (team !== scope.teamId) {
    throw new AppError('forbidden', `team_id: this key may report only its own team (${scope.teamId})`, {
      param: 'team_id',
    });
  }
  return { team, scope };
}

/** The statement of `team`'s month, read under `scope`. Past the row limit: a 400 naming group_by. */
export async function showbackReport(
  warehouse: Warehouse,
  request: Pick<ShowbackRequest, 'month' | 'timezone' | 'group_by'> & { team: string },
  scope: AccessScope,
  maxRows?: number,
): Promise<ShowbackReport> {
  const { month, team, group_by } = request;
  const timezone = checkTimezone(request.timezone);
  const result = await runReport(
    warehouse,
    {
      from: `${month}-01`,
      to: `${nextMonth(month)}-01`,
      timezone,
      group_by,
      tag_attribution: 'split',
      filters: { team: { in: [team] } },
      metrics: [...METRICS],
      order_by: [{ field: 'cost', direction: 'desc' }],
    },
    scope,
    {
      maxRows,
      tooLarge: {
        param: 'group_by',
        hint: `the month is fixed, so group by fewer or coarser dimensions (now ${group_by.join(',')}; e.g. tag or model)`,
      },
    },
  );
  const head = { month, team_id: team };
  return {
    month,
    team_id: team,
    timezone,
    source: result.source_table,
    columns: ['row_type', 'month', 'team_id', ...group_by, 'cost_usd', 'cost_nano', ...METRICS.slice(1)],
    lines: [...result.rows.map((r) => line(r, 'line', head, group_by)), line(result.totals, 'total', head, group_by)],
  };
}

/** The JSON answer: the report's head and its lines. */
export function showbackJson(report: ShowbackReport) {
  const { month, team_id, timezone, source, lines } = report;
  return { month, team_id, timezone, source, lines };
}

/** The report as a CSV, Parquet or JSON file. */
export async function showbackFile(report: ShowbackReport, format: ShowbackFormat): Promise<ShowbackFile> {
  const { columns, lines } = report;
  const filename = `showback-${report.team_id.replace(/[^A-Za-z0-9._-]/g, '_')}-${report.month}.${format}`;
  if (format === 'json') {
    return { contentType: 'application/json', filename, body: `${JSON.stringify(showbackJson(report), null, 2)}\n` };
  }
  if (format === 'csv') {
    const body = csvText([columns, ...lines.map((l) => columns.map((c) => l[c] ?? null))]);
    return { contentType: 'text/csv; charset=utf-8', filename, body };
  }
  const counts = new Set<string>(['cost_nano', ...METRICS.slice(1)]);
  const types = Object.fromEntries(
    columns.map((c) => [c, c === 'cost_usd' ? 'DECIMAL(18,9)' : counts.has(c) ? 'BIGINT' : 'VARCHAR']),
  );
  return { contentType: 'application/vnd.apache.parquet', filename, body: await parquetOfRows(lines, types) };
}

export async function showbackRoutes(app: FastifyInstance): Promise<void> {
  app.get('/spend/showback', async (request, reply) => {
    const principal = await app.authenticate(request);
    const input = showbackSchema.parse(request.query ?? {});
    checkTimezone(input.timezone); // bad input is a 400 before who-may-ask is a 403
    const { team, scope } = showbackAccess(principal, input.team_id);
    const report = await showbackReport(app.warehouse, { ...input, team }, scope);
    if (input.format === 'json') return showbackJson(report);
    const file = await showbackFile(report, input.format);
    return reply
      .type(file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .send(file.body);
  });
}
