// The reconciliation table: per day × provider × model, the provider's figure beside Spendhouse's and the
// drift. The two sides meet on the model: a provider line's model (OpenAI "gpt-4o-2024-08-06, input" →
// gpt-4o-2024-08-06; Anthropic's `model` field) and the upstream model of each Spendhouse model name (from
// model_list: `house-gpt` → openai/gpt-4o → gpt-4o), both lower-cased without a trailing date snapshot
// (-2024-08-06, -20250514). Lines without a model (tool calls, storage) stay rows of their own, which
// Spendhouse has nothing against. Money stays BigInt nano-USD to the end; drift % is rounded only for show.
import type { ModelEntry } from '../config/schema.js';
import { splitProviderModel } from '../models/providers.js';
import { nanoToUsd } from '../spendRecord.js';
import type { ImportedCost, SpendhouseCost } from './store.js';

export interface ReconciliationRow {
  day: string;
  provider: string;
  /** The model both sides were matched on, or null for a provider line item without one. */
  model: string | null;
  /** The provider's line items summed into this row. */
  line_items: string[];
  /** Spendhouse's model names (as clients asked for them) summed into this row. */
  spendhouse_models: string[];
  /** null when the provider's report for the day has not been imported. */
  provider_cost_usd: string | null;
  provider_cost_nano: string | null;
  spendhouse_cost_usd: string;
  spendhouse_cost_nano: string;
  /** Spendhouse − provider: positive when Spendhouse counted more than the bill. */
  drift_usd: string | null;
  drift_nano: string | null;
  /** drift / provider × 100 with two decimals; null when the provider figure is 0 or unknown. */
  drift_percent: string | null;
  /** When the provider's figure was imported (ISO), or null. */
  imported_at: string | null;
}

const DATE_SNAPSHOT = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;
export const modelKey = (model: string) => model.trim().toLowerCase().replace(DATE_SNAPSHOT, '');

/** provider × Spendhouse model name → the upstream model it calls, from model_list. */
export function upstreamModels(models: readonly ModelEntry[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of models) {
    if (entry.model_name.includes('*')) continue;
    const { provider, upstreamModel } = splitProviderModel(entry.litellm_params.model);
    const key = `${provider}\u0000${entry.model_name}`;
    if (!out.has(key)) out.set(key, upstreamModel);
  }
  return out;
}

/** drift / base × 100, two decimals, rounded half away from zero; null when base is 0. */
export function driftPercent(drift: bigint, base: bigint): string | null {
  if (base === 0n) return null;
  const negative = drift < 0n !== base < 0n;
  const abs = (v: bigint) => (v < 0n ? -v : v);
  const hundredths = (abs(drift) * 10_000n * 2n + abs(base)) / (abs(base) * 2n);
  return `${negative && hundredths !== 0n ? '-' : ''}${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')}`;
}

interface Cell {
  day: string;
  provider: string;
  model: string | null;
  lineItems: Set<string>;
  spendhouseModels: Set<string>;
  providerNano: bigint;
  spendhouseNano: bigint;
}

export function reconcile(input: {
  imported: ImportedCost[];
  importedDays: Map<string, number>;
  spendhouse: SpendhouseCost[];
  upstream: Map<string, string>;
}): ReconciliationRow[] {
  const cells = new Map<string, Cell>();
  const cell = (day: string, provider: string, model: string | null, lineItem: string) => {
    const key = [day, provider, model === null ? `line:${lineItem}` : `model:${model}`].join('\u0000');
    let found = cells.get(key);
    if (!found) {
      found = {
        day,
        provider,
        model,
        lineItems: new Set(),
        spendhouseModels: new Set(),
        providerNano: 0n,
        spendhouseNano: 0n,
      };
      cells.set(key, found);
    }
    return found;
  };
  for (const line of input.imported) {
    const c = cell(line.day, line.provider, line.model ? modelKey(line.model) : null, line.lineItem);
    c.lineItems.add(line.lineItem);
    c.providerNano += line.costNano;
  }
  for (const spent of input.spendhouse) {
    const upstream = input.upstream.get(`${spent.provider}\u0000${spent.model}`) ?? spent.model;
    const c = cell(spent.day, spent.provider, modelKey(upstream), '');
    c.spendhouseModels.add(spent.model);
    c.spendhouseNano += spent.costNano;
  }
  const rows = [...cells.values()].map((c): ReconciliationRow => {
    const importedAt = input.importedDays.get(`${c.day}\u0000${c.provider}`);
    const known = importedAt !== undefined;
    const drift = c.spendhouseNano - c.providerNano;
    return {
      day: c.day,
      provider: c.provider,
      model: c.model,
      line_items: [...c.lineItems].sort(),
      spendhouse_models: [...c.spendhouseModels].sort(),
      provider_cost_usd: known ? nanoToUsd(c.providerNano) : null,
      provider_cost_nano: known ? String(c.providerNano) : null,
      spendhouse_cost_usd: nanoToUsd(c.spendhouseNano),
      spendhouse_cost_nano: String(c.spendhouseNano),
      drift_usd: known ? nanoToUsd(drift) : null,
      drift_nano: known ? String(drift) : null,
      drift_percent: known ? driftPercent(drift, c.providerNano) : null,
      imported_at: known ? new Date(importedAt * 1000).toISOString() : null,
    };
  });
  return rows.sort(
    (a, b) =>
      a.day.localeCompare(b.day) ||
      a.provider.localeCompare(b.provider) ||
      (a.model ?? '\uffff').localeCompare(b.model ?? '\uffff') ||
      (a.line_items[0] ?? '').localeCompare(b.line_items[0] ?? ''),
  );
}

export interface DayTotal {
  day: string;
  provider: string;
  providerNano: bigint;
  spendhouseNano: bigint;
}

/** Per day × provider, over the imported days only (what an alert compares). */
export function dayTotals(rows: readonly ReconciliationRow[]): DayTotal[] {
  const totals = new Map<string, DayTotal>();
  for (const row of rows) {
    if (row.provider_cost_nano === null) continue;
    const key = `${row.day}\u0000${row.provider}`;
    const total = totals.get(key) ?? { day: row.day, provider: row.provider, providerNano: 0n, spendhouseNano: 0n };
    total.providerNano += BigInt(row.provider_cost_nano);
    total.spendhouseNano += BigInt(row.spendhouse_cost_nano);
    totals.set(key, total);
  }
  return [...totals.values()];
}
