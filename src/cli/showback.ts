// `spendhouse showback --team <id> --month YYYY-MM [--format csv|parquet|json] [--group-by tag,model]
// [--timezone Europe/Paris] [--out FILE]`: the same statement as GET /spend/showback (src/query/showback.ts
// builds both), read straight from ClickHouse with the operator's config — so with every team in view, like
// the master key. Without --out the report goes to stdout (Parquet only when stdout is not a terminal).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { createWarehouse } from '../clickhouse/plugin.js';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import { showbackFile, showbackReport, showbackSchema } from '../query/showback.js';
import { asError } from '../retry.js';
import { describeIssue } from '../validation/describeIssue.js';

export const SHOWBACK_USAGE =
  'usage: spendhouse showback --team <team id> --month YYYY-MM [--format csv|parquet|json] [--group-by tag,model] [--timezone <IANA zone>] [--out FILE] [--config FILE]';

/** The request field → the flag that sets it, so every error names what the operator typed. */
const FLAG_OF: Record<string, string> = {
  team_id: '--team',
  month: '--month',
  format: '--format',
  group_by: '--group-by',
  timezone: '--timezone',
};

class UsageError extends Error {}

/** `team_id: …` (a 400 or a zod issue) → `--team: …`. */
function flagError(param: string | null, message: string): UsageError {
  const flag = param === null ? undefined : FLAG_OF[param];
  if (param === null || flag === undefined) return new UsageError(message);
  return new UsageError(message.startsWith(`${param}: `) ? `${flag}: ${message.slice(param.length + 2)}` : message);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        team: { type: 'string' },
        month: { type: 'string' },
        format: { type: 'string' },
        'group-by': { type: 'string' },
        timezone: { type: 'string' },
        out: { type: 'string', short: 'o' },
        config: { type: 'string', short: 'c' },
      },
    }).values;
  } catch (err) {
    throw new UsageError(asError(err).message);
  }
}

/** The command line → the request and where to write it; a UsageError names the flag at fault. */
export function parseShowbackArgs(argv: string[]) {
  const values = parse(argv);
  if (values.team === undefined) throw new UsageError('--team is required (the team whose month to report)');
  if (values.month === undefined) throw new UsageError('--month is required (YYYY-MM)');
  const parsed = showbackSchema.safeParse({
    team_id: values.team,
    month: values.month,
    ...(values.format === undefined ? {} : { format: values.format }),
    ...(values['group-by'] === undefined ? {} : { group_by: values['group-by'] }),
    ...(values.timezone === undefined ? {} : { timezone: values.timezone }),
  });
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const issue = first ? describeIssue(first) : { param: null, text: 'invalid arguments' };
    throw flagError(issue.param, issue.text);
  }
  const out = values.out;
  if (out !== undefined && (out === '' || out.includes('\0') || !out.isWellFormed()))
    throw new UsageError('--out: a file path');
  return { request: { ...parsed.data, team: values.team }, out, config: values.config };
}

/** Where the report goes without --out. */
export interface ShowbackOutput {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

/** Runs the command; returns the exit code (2: a usage error naming the flag). */
export async function runShowbackCli(
  argv: string[],
  load: (configPath?: string) => AppConfig,
  stdout: ShowbackOutput = process.stdout,
): Promise<number> {
  try {
    const { request, out, config } = parseShowbackArgs(argv);
    if (out === undefined && request.format === 'parquet' && stdout.isTTY)
      throw new UsageError('--out: Parquet is binary; give --out FILE or redirect stdout');
    const warehouse = createWarehouse(load(config).clickhouse);
    try {
      let report: Awaited<ReturnType<typeof showbackReport>>;
      try {
        report = await showbackReport(warehouse, request, {});
      } catch (err) {
        // A 400 of the report itself (timezone, too many rows for group_by) names a request field.
        if (err instanceof AppError && err.status === 400) throw flagError(err.param, err.message);
        if (err instanceof ZodError) throw new UsageError(err.issues.map((i) => describeIssue(i).text).join('; '));
        throw err;
      }
      const file = await showbackFile(report, request.format);
      if (out === undefined) {
        stdout.write(file.body);
        return 0;
      }
      await writeFile(out, file.body);
      const lines = report.lines.length - 1;
      console.error(`showback: ${request.team} ${request.month}: ${lines} line(s) + total → ${out}`);
      return 0;
    } finally {
      await warehouse.client.close();
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`showback: ${err.message}\n${SHOWBACK_USAGE}`);
    return 2;
  }
}
