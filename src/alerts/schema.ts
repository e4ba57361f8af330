// The `alerts` config section (docs/operations.md): one Slack-compatible webhook for every alert event.
import { z } from 'zod';

export const alertsSchema = z.strictObject({
  /** POSTed `{"text": …, "event": …, …}`; falls back to budgets.alert_webhook_url. */
  webhook_url: z.url().optional(),
  /** One alert per event and subject within this many seconds (default 3600). */
  dedup_seconds: z.number().int().min(1).optional(),
  /** Alert when the oldest queued spend record is older than this (seconds, default 300). */
  ingest_lag_seconds: z.number().int().min(1).optional(),
  /** How often ingest lag, dead letters and the archive are checked (seconds, default 30). */
  check_interval_seconds: z.number().int().min(1).optional(),
  /**
   * Budget utilisation thresholds (percent of max budget): each alerts once per scope and budget period
   * (`budget_threshold_crossed`); default 50, 80, 100. An empty list turns them off.
   */
  budget_thresholds_percent: z
    .array(z.number().int().min(1).max(1000))
    .max(10)
    .refine((xs) => new Set(xs).size === xs.length, 'duplicate threshold')
    .optional(),
  /** Alert when a budget's forecast passes its max before the period ends (`budget_forecast_exceeded`; default true). */
  forecast_alerts: z.boolean().optional(),
  /** A forecast alert repeats at most once per this many seconds while it holds (default 86400). */
  forecast_alert_cooldown_seconds: z.number().int().min(60).optional(),
  /** How often budgets are checked for thresholds and forecasts (seconds, default 60). */
  budget_check_seconds: z.number().int().min(5).optional(),
});

export type AlertsConfig = z.infer<typeof alertsSchema>;
