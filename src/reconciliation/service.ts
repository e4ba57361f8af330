// Reconciliation as the routes and the worker use it: the table for a window of days, and one import run
// (every configured provider's report for the last lookback_days complete UTC days, stored, then an alert
// for each settled day × provider whose drift passes the threshold — once each, however often the import
// re-reads the day). A day is settled SETTLED_AFTER_DAYS full days after it ended: the bill of yesterday
// (often of the day before too) is still growing, so its drift is not news yet. A provider that fails (bad admin key, rate limit, outage) is recorded in the import status and
// the run goes on with the next: nothing here may take the worker down.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { AlertNotifier } from '../alerts/notifier.js';
import type { Warehouse } from '../clickhouse/warehouse.js';
import type { ModelEntry } from '../config/schema.js';
import { asError } from '../retry.js';
import { nanoToUsd } from '../spendRecord.js';
import { fetchAnthropicCosts, fetchOpenAiCosts, type ProviderReport, type ReportRequest } from './costReports.js';
import { DEFAULT_HTTP_POLICY, type HttpPolicy, ReportError } from './providerHttp.js';
import { dayTotals, driftPercent, type ReconciliationRow, reconcile, upstreamModels } from './report.js';
import type { CostSource, ReconciliationSettings } from './settings.js';
import { readImportedCosts, readSpendhouseCosts, storeReport } from './store.js';

const DAY_MS = 86_400_000;
/** An alert per day × provider, once: longer than any lookback re-reads the day. */
const ALERT_DEDUP_SECONDS = 40 * 86_400;
/**
 * Drift alerts wait until a day ended this many full UTC days ago (today 12-10: days up to 12-07): providers
 * settle a day's costs a day or more late, and a first import of yesterday is partial. With lookback_days
 * at most this, no imported day is ever old enough, and no drift is alerted (the table still shows it).
 */
export const SETTLED_AFTER_DAYS = 2;
const STATUS_KEY = 'reconciliation:status';

export const dayString = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface ImportStatus {
  provider: string;
  at: string;
  ok: boolean;
  /** The failure (HTTP status and the provider's message), never the admin key. */
  error: string | null;
  days: number;
  lines: number;
  skipped: string[];
}

export interface ReconciliationDeps {
  warehouse: Warehouse;
  redis: Redis;
  alerts: AlertNotifier;
  settings: ReconciliationSettings;
  models: readonly ModelEntry[];
  log: FastifyBaseLogger;
  policy?: HttpPolicy;
}

export async function reconciliationTable(
  deps: Pick<ReconciliationDeps, 'warehouse' | 'settings' | 'models'>,
  fromDay: string,
  toDay: string,
): Promise<ReconciliationRow[]> {
  const imported = await readImportedCosts(deps.warehouse, fromDay, toDay);
  const providers = new Set<string>(deps.settings.sources.map((s) => s.provider));
  for (const line of imported.lines) providers.add(line.provider);
  const spendhouse = await readSpendhouseCosts(deps.warehouse, fromDay, toDay, [...providers]);
  return reconcile({
    imported: imported.lines,
    importedDays: imported.days,
    spendhouse,
    upstream: upstreamModels(deps.models),
  });
}

export async function readImportStatus(redis: Redis): Promise<ImportStatus[]> {
  const entries = await redis.hgetall(STATUS_KEY);
  return Object.values(entries).map((text) => JSON.parse(text) as ImportStatus);
}

const FETCHERS: Record<CostSource['provider'], (request: ReportRequest) => Promise<ProviderReport>> = {
  openai: fetchOpenAiCosts,
  anthropic: fetchAnthropicCosts,
};

export class ReconciliationImporter {
  constructor(private readonly deps: ReconciliationDeps) {}

  /** One run over [today − lookback_days, today); resolves to each provider's status. */
  async runOnce(now = new Date()): Promise<ImportStatus[]> {
    const { settings } = this.deps;
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const fromDay = dayString(today - settings.lookbackDays * DAY_MS);
    const toDay = dayString(today);
    const statuses: ImportStatus[] = [];
    for (const source of settings.sources) statuses.push(await this.importSource(source, fromDay, toDay, now));
    // Only the re-read days that have settled: [fromDay, the first unsettled day).
    const settledToDay = today - SETTLED_AFTER_DAYS * DAY_MS;
    if (settledToDay > today - settings.lookbackDays * DAY_MS) await this.alertDrift(fromDay, dayString(settledToDay));
    return statuses;
  }

  private async importSource(source: CostSource, fromDay: string, toDay: string, now: Date): Promise<ImportStatus> {
    const base = { provider: source.provider, at: now.toISOString() };
    let status: ImportStatus;
    try {
      const report = await FETCHERS[source.provider]({
        fromDay,
        toDay,
        adminKey: source.adminKey,
        apiBase: source.apiBase,
        policy: this.deps.policy ?? DEFAULT_HTTP_POLICY,
      });
      await storeReport(this.deps.warehouse, report, now);
      status = {
        ...base,
        ok: true,
        error: null,
        days: report.days.size,
        lines: report.lines.length,
        skipped: report.skipped,
      };
      if (report.skipped.length)
        this.deps.log.warn({ provider: source.provider, skipped: report.skipped }, 'cost report lines skipped');
    } catch (err) {
      // A ReportError's message is ours (status + the provider's message); anything else is only named.
      const error =
        err instanceof ReportError ? err.message : `${source.provider} cost import failed (${asError(err).name})`;
      this.deps.log.warn({ provider: source.provider, status: err instanceof ReportError ? err.status : null }, error);
      status = { ...base, ok: false, error, days: 0, lines: 0, skipped: [] };
    }
    await this.deps.redis.hset(STATUS_KEY, source.provider, JSON.stringify(status));
    return status;
  }

  private async alertDrift(fromDay: string, toDay: string): Promise<void> {
    const { settings, alerts } = this.deps;
    if (!alerts.enabled) return;
    const rows = await reconciliationTable(this.deps, fromDay, toDay);
    for (const total of dayTotals(rows)) {
      const drift = total.spendhouseNano - total.providerNano;
      const abs = drift < 0n ? -drift : drift;
      if (abs === 0n || abs < settings.driftAlertMinNano) continue;
      // |drift| / provider > bp / 10000, in integers (a $0 bill with any drift above the minimum counts).
      if (abs * 10_000n <= settings.driftAlertBasisPoints * total.providerNano) continue;
      const percent = driftPercent(drift, total.providerNano);
      await alerts.send({
        event: 'reconciliation_drift',
        subject: `${total.provider}:${total.day}`,
        dedupSeconds: ALERT_DEDUP_SECONDS,
        text: `Spendhouse and the ${total.provider} bill disagree on ${total.day}: provider $${nanoToUsd(total.providerNano)}, Spendhouse $${nanoToUsd(total.spendhouseNano)} (drift ${percent === null ? 'n/a' : `${percent}%`})`,
        fields: {
          day: total.day,
          provider: total.provider,
          provider_cost_usd: nanoToUsd(total.providerNano),
          spendhouse_cost_usd: nanoToUsd(total.spendhouseNano),
          drift_usd: nanoToUsd(drift),
          drift_percent: percent,
        },
      });
    }
  }
}
