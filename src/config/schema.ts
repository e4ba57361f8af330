// The one config schema: LiteLLM's config.yaml shape (model_list, general_settings, litellm_settings) plus
// Spendhouse's own sections. Objects are strict so that unknown keys can be reported by name
// (see load.ts: they become warnings, never silent drops).
import { z } from 'zod';
import { alertsSchema } from '../alerts/schema.js';
import { anomaliesSchema } from '../anomalies/schema.js';
import { KEY_PERMISSIONS } from '../auth/principal.js';
import { guardrailsSchema, tagPolicySchema } from '../guardrails/schema.js';
import { metricsSchema } from '../metrics/schema.js';
import { reconciliationSchema } from '../reconciliation/schema.js';

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

/** `30s`, `15m`, `2h`, `1d`, `7d`, `30d`, `1mo` — LiteLLM's duration strings. */
export const durationSchema = z.string().regex(/^\d+(s|m|h|d|w|mo)$/, 'a duration like 30s, 15m, 2h, 1d, 7d or 1mo');

export const litellmParamsSchema = z.strictObject({
  model: z.string().min(1),
  api_base: z.url().optional(),
  api_key: z.string().optional(),
  api_version: z.string().optional(),
  rpm: positiveInt.optional(),
  tpm: positiveInt.optional(),
  timeout: z.number().positive().optional(),
  stream_timeout: z.number().positive().optional(),
  max_retries: z.number().int().nonnegative().optional(),
  mock_response: z.string().optional(),
  organization: z.string().optional(),
  input_cost_per_token: nonNegative.optional(),
  output_cost_per_token: nonNegative.optional(),
  // Bedrock (LiteLLM's names); absent ones fall back to the standard AWS environment variables.
  aws_region_name: z.string().min(1).optional(),
  aws_access_key_id: z.string().min(1).optional(),
  aws_secret_access_key: z.string().min(1).optional(),
  aws_session_token: z.string().min(1).optional(),
});

/**
 * Config prices, USD per unit (LiteLLM's names where it has one). Each overlays the catalog's price of its
 * dimension (docs/pricing.md); a dimension priced nowhere falls back as the catalog's does.
 */
const priceFields = {
  input_cost_per_token: nonNegative.optional(),
  output_cost_per_token: nonNegative.optional(),
  cache_read_input_token_cost: nonNegative.optional(),
  /** 5-minute cache writes (and any cache write the provider does not split by TTL). */
  cache_creation_input_token_cost: nonNegative.optional(),
  cache_creation_input_token_cost_above_1hr: nonNegative.optional(),
  output_cost_per_reasoning_token: nonNegative.optional(),
  input_cost_per_audio_token: nonNegative.optional(),
  output_cost_per_audio_token: nonNegative.optional(),
  input_cost_per_image_token: nonNegative.optional(),
  output_cost_per_image_token: nonNegative.optional(),
  input_cost_per_request: nonNegative.optional(),
  web_search_cost_per_request: nonNegative.optional(),
};
export const priceFieldsSchema = z.strictObject(priceFields);
export type PriceFields = z.infer<typeof priceFieldsSchema>;

/** Prices per service tier, by the name the provider reports (`flex`, `priority`, `batch`, …). */
const serviceTierPricesSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a service tier name such as flex, priority or batch'),
  priceFieldsSchema,
);

/** A dated price-book entry: from `effective_from` on, these prices overlay the model's undated ones. */
export const priceBookEntrySchema = z.strictObject({
  effective_from: z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'an ISO date (2026-01-01) or date-time with offset (2026-01-01T00:00:00Z)',
  }),
  ...priceFields,
  service_tier_prices: serviceTierPricesSchema.optional(),
});
export type PriceBookEntry = z.infer<typeof priceBookEntrySchema>;

const priceBookSchema = z.array(priceBookEntrySchema).superRefine((entries, ctx) => {
  const seen = new Map<number, number>();
  entries.forEach((entry, i) => {
    const at = Date.parse(entry.effective_from);
    const first = seen.get(at);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'effective_from'],
        message: `the same instant as price_book[${first}].effective_from`,
      });
    }
    seen.set(at, i);
  });
});

export const modelInfoSchema = z.strictObject({
  id: z.string().optional(),
  mode: z.enum(['chat', 'completion', 'embedding']).optional(),
  base_model: z.string().optional(),
  ...priceFields,
  service_tier_prices: serviceTierPricesSchema.optional(),
  price_book: priceBookSchema.optional(),
  /** Negotiated rate: the fraction taken off list prices (0.2 = 20% off). */
  discount: z.number().min(0).max(1).optional(),
  /** Chargeback margin: the fraction added on top (0.1 = +10%), after any discount. */
  markup: nonNegative.optional(),
  max_tokens: positiveInt.optional(),
  max_input_tokens: positiveInt.optional(),
  max_output_tokens: positiveInt.optional(),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const modelEntrySchema = z.strictObject({
  model_name: z.string().min(1),
  litellm_params: litellmParamsSchema,
  model_info: modelInfoSchema.optional(),
});

export const generalSettingsSchema = z.strictObject({
  master_key: z.string().min(8).optional(),
  database_url: z.string().optional(),
  spend_logs_max_age: durationSchema.optional(),
  maximum_spend_logs_retention_period: durationSchema.optional(),
  maximum_spend_logs_retention_interval: durationSchema.optional(),
  store_prompts_in_spend_logs: z.boolean().optional(),
  disable_spend_logs: z.boolean().optional(),
  alerting: z.array(z.string()).optional(),
  alerting_threshold: z.number().positive().optional(),
  /** Non-admin keys (by key_alias) that may send a request's `mock_response` (docs/proxy.md). */
  mock_response_key_aliases: z.array(z.string().min(1)).optional(),
  /** How long translated Responses' items stay referenceable (item_reference, previous_response_id); 3600. */
  responses_item_ttl_seconds: z.number().int().positive().optional(),
  /** How often the worker asks the provider about unfinished Batch API batches (docs/batches.md); 60. */
  batch_poll_interval_seconds: z.number().int().min(1).max(86_400).optional(),
  /**
   * When a provider reports the call's cost itself (OpenRouter `usage.cost`), bill that (true, the default)
   * or the price book's cost (false); the record keeps both either way (docs/pricing.md).
   */
  bill_provider_reported_cost: z.boolean().optional(),
});

export const s3CallbackParamsSchema = z.strictObject({
  s3_bucket_name: z.string().min(1),
  s3_region_name: z.string().optional(),
  s3_endpoint_url: z.url().optional(),
  s3_path: z.string().optional(),
  s3_aws_access_key_id: z.string().optional(),
  s3_aws_secret_access_key: z.string().optional(),
  s3_use_path_style: z.boolean().optional(),
});

export const litellmSettingsSchema = z.strictObject({
  callbacks: z.array(z.string()).optional(),
  success_callback: z.array(z.string()).optional(),
  failure_callback: z.array(z.string()).optional(),
  s3_callback_params: s3CallbackParamsSchema.optional(),
  request_timeout: z.number().positive().optional(),
  num_retries: z.number().int().nonnegative().optional(),
  drop_params: z.boolean().optional(),
});

export const roleSchema = z.enum(['all', 'proxy', 'worker']);
export type Role = z.infer<typeof roleSchema>;

export const fileConfigSchema = z.strictObject({
  model_list: z.array(modelEntrySchema).default([]),
  general_settings: generalSettingsSchema.default({}),
  litellm_settings: litellmSettingsSchema.default({}),
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).optional(),
      /** Listen address; default 127.0.0.1 (HOST overrides; 0.0.0.0 opens every interface). */
      host: z.string().min(1).optional(),
      /**
       * The origin browsers use for the dashboard when it differs from the Host header the app sees (a reverse
       * proxy that rewrites Host): cookie-authenticated writes must come from it (src/auth/crossOrigin.ts).
       */
      public_url: z.url().optional(),
      role: roleSchema.optional(),
      ui_username: z.string().optional(),
      ui_password: z.string().optional(),
      body_limit_bytes: positiveInt.optional(),
      /**
       * Behind a reverse proxy: which hops' X-Forwarded-For / X-Forwarded-Proto to believe (fastify's
       * trustProxy) — `true` (every hop: only when nothing reaches the app but the proxy), a hop count, or the
       * proxies' addresses/CIDRs. Unset, the socket's address is the client (login throttling counts per
       * client address; the session cookie is `Secure` when the request was https).
       */
      trust_proxy: z
        .union([z.boolean(), z.number().int().min(1).max(16), z.array(z.string().min(1).max(64)).min(1).max(64)])
        .optional(),
    })
    .default({}),
  clickhouse: z
    .strictObject({
      url: z.url().optional(),
      database: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
        .optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      cluster: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional(),
    })
    .default({}),
  redis: z
    .strictObject({
      url: z.string().optional(),
      key_prefix: z.string().optional(),
    })
    .default({}),
  budgets: z
    .strictObject({
      fail_mode: z.enum(['closed', 'open']).optional(),
      timezone: z.string().optional(),
      /** Soft-budget alerts are POSTed here as JSON (docs/budgets.md). */
      alert_webhook_url: z.url().optional(),
    })
    .default({}),
  /** S3/local archive of closed windows (docs/archive.md); S3 itself comes from litellm_settings.s3_callback_params. */
  archive: z
    .strictObject({
      enabled: z.boolean().optional(),
      /** `focus_parquet` / `focus_csv`: FOCUS 1.2 rows of each window beside it (docs/finops.md). */
      formats: z
        .array(z.enum(['parquet', 'jsonl', 'focus_parquet', 'focus_csv']))
        .min(1)
        .optional(),
      /** Window length; must divide an hour (5m, 10m, 15m, 20m, 30m, 1h) so windows nest in hour partitions. */
      window: durationSchema.optional(),
      /** How long after a window ends before it is exported (records still in the queue land first). */
      settle: durationSchema.optional(),
      /** How often the worker looks for newly closed or changed windows. */
      interval: durationSchema.optional(),
      local_path: z.string().min(1).optional(),
      /** Object key prefix; defaults to s3_callback_params.s3_path. */
      prefix: z.string().optional(),
      compression: z.enum(['zstd', 'snappy']).optional(),
    })
    .default({}),
  /** Spend ingest pipeline (docs/ingest.md). */
  ingest: z
    .strictObject({
      /** The proxy's micro-batches: sealed at this many records or after batch_max_ms, whichever is first. */
      batch_max_records: positiveInt.optional(),
      batch_max_ms: positiveInt.optional(),
      worker_concurrency: positiveInt.max(64).optional(),
      /** Least time between the starts of two spend_logs inserts of a worker (0 = insert as soon as possible). */
      insert_interval_ms: z.number().int().min(0).max(10_000).optional(),
      /** Cap of the retry backoff while ClickHouse is down. */
      retry_max_delay: durationSchema.optional(),
      /** Retention of stored prompts/responses; defaults to the spend log retention. */
      payload_max_age: durationSchema.optional(),
      /** POST /ingest/v1/records body limit (after gzip decompression). */
      max_body_bytes: positiveInt.optional(),
    })
    .default({}),
  /** Prometheus /metrics, alert webhooks, PII guardrails and tag policies (docs/operations.md). */
  metrics: metricsSchema.default({}),
  alerts: alertsSchema.default({}),
  guardrails: guardrailsSchema.default({ custom_patterns: [], rules: [] }),
  tag_policies: z.array(tagPolicySchema).default([]),
  /** Keys usable before the management API exists or for static deployments: hashed at load. */
  keys: z
    .array(
      z.strictObject({
        key: z.string().min(8),
        key_alias: z.string().optional(),
        user_id: z.string().optional(),
        team_id: z.string().optional(),
        models: z.array(z.string()).optional(),
        tags: z.array(z.string()).optional(),
        permissions: z.array(z.enum(KEY_PERMISSIONS)).optional(),
      }),
    )
    .default([]),
  /** Provider cost reports imported and compared with Spendhouse's figures (docs/finops.md). */
  reconciliation: reconciliationSchema.default({}),
  /** Spend anomalies against each series' own baseline (docs/finops.md). */
  anomalies: anomaliesSchema.default({}),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
