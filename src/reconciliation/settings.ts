// The `reconciliation` section resolved once: which providers have an admin key, how often to import,
// and the drift that raises an alert, as integers (basis points, nano-USD).
import type { FileConfig } from '../config/schema.js';
import { usdToNano } from '../spendRecord.js';
import type { CostProvider } from './providerHttp.js';

export interface CostSource {
  provider: CostProvider;
  adminKey: string;
  apiBase: string;
}

export interface ReconciliationSettings {
  sources: CostSource[];
  intervalMs: number;
  lookbackDays: number;
  /** drift_alert_percent × 100. */
  driftAlertBasisPoints: bigint;
  driftAlertMinNano: bigint;
}

const DEFAULT_API_BASE: Record<CostProvider, string> = {
  openai: 'https://api.openai.com',
  anthropic: 'https://api.anthropic.com',
};

export function resolveReconciliationSettings(file: FileConfig): ReconciliationSettings {
  const section = file.reconciliation;
  const sources: CostSource[] = [];
  for (const provider of ['openai', 'anthropic'] as const) {
    const source = section[provider];
    if (source)
      sources.push({ provider, adminKey: source.admin_key, apiBase: source.api_base ?? DEFAULT_API_BASE[provider] });
  }
  return {
    sources,
    intervalMs: (section.interval_minutes ?? 60) * 60_000,
    lookbackDays: section.lookback_days ?? 7,
    driftAlertBasisPoints: BigInt(Math.round((section.drift_alert_percent ?? 5) * 100)),
    driftAlertMinNano: BigInt(usdToNano(section.drift_alert_min_usd ?? 1)),
  };
}
