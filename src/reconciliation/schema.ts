// The `reconciliation` config section (docs/finops.md): an admin key per provider whose daily cost report the
// worker imports, and when a drift between the provider's figure and Spendhouse's is worth an alert.
// Admin keys are secrets like model api_keys: write `os.environ/OPENAI_ADMIN_KEY`, never log them.
import { z } from 'zod';

const providerSource = (prefix: string) =>
  z.strictObject({
    /** The organization admin key (`sk-admin-…` for OpenAI, `sk-ant-admin…` for Anthropic). */
    admin_key: z.string().startsWith(prefix, `an admin key starts with ${prefix}`),
    /** The API's origin; tests and egress proxies point it elsewhere. */
    api_base: z.url().optional(),
  });

export const reconciliationSchema = z.strictObject({
  openai: providerSource('sk-admin-').optional(),
  anthropic: providerSource('sk-ant-admin').optional(),
  /** How often the worker imports the reports, in minutes (default 60). */
  interval_minutes: z.number().int().min(1).max(1440).optional(),
  /** How many complete UTC days back each import re-reads (default 7: providers settle costs late). */
  lookback_days: z.number().int().min(1).max(31).optional(),
  /** Alert when |drift| / provider figure of a day × provider is above this percentage (default 5). */
  drift_alert_percent: z.number().positive().max(10_000).optional(),
  /** …and |drift| is at least this many USD (default 1), so cents on a quiet day stay quiet. */
  drift_alert_min_usd: z.number().nonnegative().optional(),
});

export type ReconciliationConfig = z.infer<typeof reconciliationSchema>;
