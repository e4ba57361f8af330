// The `metrics` config section (docs/operations.md). /metrics is also enabled by LiteLLM's
// `litellm_settings.callbacks: ["prometheus"]`.
import { z } from 'zod';

export const metricsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  /** A bearer token a Prometheus server scrapes with, instead of the master key. */
  token: z.string().min(16).optional(),
  /** How often budget remaining/utilisation gauges are re-read from the ledger (seconds). */
  budget_refresh_seconds: z.number().int().min(5).optional(),
  /** Tags that get their own series in spendhouse_tag_* (others are never labels: unbounded values). */
  tag_allow_list: z.array(z.string().min(1)).max(100).optional(),
});

export type MetricsConfig = z.infer<typeof metricsSchema>;
