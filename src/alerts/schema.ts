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
});

export type AlertsConfig = z.infer<typeof alertsSchema>;
