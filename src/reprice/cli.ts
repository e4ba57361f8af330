// `npm run reprice -- --from <ISO> --to <ISO> [--model <name>]… [--team <id>]… [--dry-run] [--wait <s>]`:
// re-prices past calls against the current price book and writes correction records (docs/repricing.md).
// It boots the app as a proxy-role process (no worker, no listener): the same config, price book, spend
// queue and budget charger as the server, so corrections take the ingest path and a running worker
// inserts them.
import { parseArgs } from 'node:util';
import type { AppConfig } from '../config/load.js';
import { asError } from '../retry.js';
import { nanoToUsd } from '../spendRecord.js';
import { currentPricer, type DeltaTable } from './plan.js';
import { RepriceError, type RepriceOptions, reprice } from './run.js';

const DEFAULT_WAIT_SECONDS = 300;
export const USAGE =
  'usage: npm run reprice -- --from <ISO time> --to <ISO time> [--model <name>]… [--team <team id>]… [--dry-run] [--wait <seconds>]';

export class UsageError extends Error {}

function isoTime(flag: string, value: string | undefined): Date {
  if (value === undefined) throw new UsageError(`--${flag} is required (an ISO-8601 time, e.g. 2026-12-01T00:00:00Z)`);
  const ms = /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`--${flag}: not an ISO-8601 time: ${JSON.stringify(value)}`);
  return new Date(ms);
}

/** The command line → run options; a UsageError names the flag at fault. */
export function parseRepriceArgs(argv: string[]): RepriceOptions & { config?: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(asError(err).message);
  }
  const { values } = parsed;
  const from = isoTime('from', values.from);
  const to = isoTime('to', values.to);
  if (from >= to) throw new UsageError('--to must be after --from');
  const wait = values.wait === undefined ? DEFAULT_WAIT_SECONDS : Number(values.wait);
  if (!Number.isInteger(wait) || wait < 0) throw new UsageError('--wait: a whole number of seconds');
  for (const [flag, list] of [
    ['model', values.model ?? []],
    ['team', values.team ?? []],
  ] as const) {
    if (list.some((v) => v === '' || v.length > 256 || !v.isWellFormed()))
      throw new UsageError(`--${flag}: a non-empty name of at most 256 characters`);
  }
  return {
    from,
    to,
    models: values.model ?? [],
    teams: values.team ?? [],
    dryRun: values['dry-run'] ?? false,
    waitMs: wait * 1000,
    config: values.config,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      model: { type: 'string', multiple: true },
      team: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      wait: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
  });
}

/** The per-model delta table, exact USD. */
export function formatTable(table: DeltaTable): string {
  const head = ['model', 'calls', 'corrections', 'old total USD', 'new total USD', 'delta USD'];
  const lines = table.lines();
  const sum = (pick: (l: (typeof lines)[number]) => bigint) => lines.reduce((s, l) => s + pick(l), 0n);
  const signed = (n: bigint) => (n > 0n ? `+${nanoToUsd(n)}` : nanoToUsd(n));
  const rows = lines.map((l) => [
    l.model,
    String(l.calls),
    String(l.corrections),
    nanoToUsd(l.oldNano),
    nanoToUsd(l.newNano),
    signed(l.newNano - l.oldNano),
  ]);
  const oldTotal = sum((l) => l.oldNano);
  const newTotal = sum((l) => l.newNano);
  rows.push([
    'total',
    String(lines.reduce((s, l) => s + l.calls, 0)),
    String(lines.reduce((s, l) => s + l.corrections, 0)),
    nanoToUsd(oldTotal),
    nanoToUsd(newTotal),
    signed(newTotal - oldTotal),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [render(head), rule, ...rows.slice(0, -1).map(render), rule, render(rows.at(-1) ?? [])].join('\n');
}

function skippedLines(table: DeltaTable): string[] {
  const { provider, caller, unpriced } = table.skipped;
  const out: string[] = [];
  if (provider) out.push(`${provider} call(s) billed from the provider's own reported cost: not re-priced`);
  if (caller) out.push(`${caller} call(s) with a cost given by the ingest caller: not re-priced`);
  if (unpriced) out.push(`${unpriced} call(s) the current price book has no price for: left as recorded`);
  return out;
}

/** Runs the command; returns the exit code. */
export async function runRepriceCli(argv: string[], loadConfig: (path?: string) => AppConfig): Promise<number> {
  let options: ReturnType<typeof parseRepriceArgs>;
  try {
    options = parseRepriceArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`reprice: ${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(options.config);
  // Imported here: building the app loads every plugin, which a usage error should not wait for.
  const { buildApp } = await import('../app.js');
  const app = await buildApp({ config: { ...config, role: 'proxy' }, logger: { level: 'warn' } });
  try {
    const report = await reprice(
      {
        warehouse: app.warehouse,
        redis: app.redis,
        producer: app.spendProducer,
        price: currentPricer(config),
        chargeBudgets: app.hasDecorator('budgetCharger') ? app.budgetCharger : undefined,
        warn: (message) => console.warn(message),
      },
      options,
    );
    const window = `${options.from.toISOString()} – ${options.to.toISOString()}`;
    console.log(`re-pricing ${window}${options.dryRun ? ' (dry run: nothing is written)' : ''}\n`);
    console.log(formatTable(report.table));
    for (const line of skippedLines(report.table)) console.log(line);
    if (!options.dryRun) {
      console.log(
        `\n${report.written} correction record(s) written` +
          (report.duplicates ? `, ${report.duplicates} already written by an earlier run` : '') +
          '; all are in ClickHouse. Archived windows holding them are re-exported by the next archive pass.',
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof RepriceError)) throw err;
    console.error(`reprice: ${err.message}`);
    return 1;
  } finally {
    await app.close();
  }
}
