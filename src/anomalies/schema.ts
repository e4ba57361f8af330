// The `anomalies` config section (docs/finops.md): how unusual a day's or an hour's spend must be, against
// its own trailing baseline, to be listed by /spend/anomalies and sent to the alert webhook.
import { z } from 'zod';

export const anomaliesSchema = z.strictObject({
  /** Robust z-score ((spend − median) / (1.4826 × MAD)) at or above which a bucket is an anomaly (default 3.5). */
  z_threshold: z.number().positive().max(1000).optional(),
  /** …and spend − median is at least this many USD (default 1): a cent over a quiet baseline is no news. */
  min_excess_usd: z.number().nonnegative().optional(),
  /** Days of daily baseline before each day (default 28). */
  baseline_days: z.number().int().min(7).max(90).optional(),
  /** Send anomalies of the last complete hour and day to the alert webhook (default true when it is set). */
  alert: z.boolean().optional(),
});

export type AnomaliesConfig = z.infer<typeof anomaliesSchema>;
