// FOCUS 1.2 (the FinOps Open Cost and Usage Specification) rows from an archive window's Parquet file, by
// DuckDB: one row per call and charged dimension — input, cached input (cache_read), cache writes by TTL,
// output, reasoning, audio/image in and out, the per-request price and web searches — so cloud-cost tools
// (and Athena, DuckDB) read LLM spend beside the rest of the bill (docs/finops.md, "FOCUS export").
//
// Quantities: a call's tokens split into dimensions exactly as pricing splits them (quantities() in
// src/pricing/sheet.ts; test/archive.focus.test.ts holds this SQL to it). ListUnitPrice is the record's own
// unit price for the dimension (`unit_prices`), ListCost = quantity × ListUnitPrice exactly. BilledCost:
// the call's billed cost_nano divided among its rows in proportion to their list cost (integer nano-USD,
// the remainder — and a provider-reported cost's difference — on the dearest row), so the rows of a call
// add up to its cost_nano and the file's BilledCost to Spendhouse's total, to the nano-USD. A dimension is
// charged when the call used it and has a unit price for it. A call with a cost but no priced usage (a
// re-pricing correction, a caller-provided cost) is one `call` row; a call with neither (a refused request,
// an unpriced model) has no row: it charged nothing.

/** One FOCUS column: its name, DuckDB type, Athena type and the DuckDB expression over `charges`. */
export interface FocusColumn {
  name: string;
  duck: string;
  athena: string;
  expr: string;
}

const DIMENSIONS: { dimension: string; quantity: string; unit: 'Tokens' | 'Requests'; what: string }[] = [
  { dimension: 'input', quantity: 'q_input', unit: 'Tokens', what: 'input tokens' },
  { dimension: 'cache_read', quantity: 'q_cache_read', unit: 'Tokens', what: 'cached input tokens' },
  { dimension: 'cache_write_5m', quantity: 'q_cache_write_5m', unit: 'Tokens', what: 'cache writes (5 min)' },
  { dimension: 'cache_write_1h', quantity: 'q_cache_write_1h', unit: 'Tokens', what: 'cache writes (1 h)' },
  { dimension: 'output', quantity: 'q_output', unit: 'Tokens', what: 'output tokens' },
  { dimension: 'reasoning', quantity: 'q_reasoning', unit: 'Tokens', what: 'reasoning tokens' },
  { dimension: 'audio_input', quantity: 'q_audio_input', unit: 'Tokens', what: 'audio input tokens' },
  { dimension: 'audio_output', quantity: 'q_audio_output', unit: 'Tokens', what: 'audio output tokens' },
  { dimension: 'image_input', quantity: 'q_image_input', unit: 'Tokens', what: 'image input tokens' },
  { dimension: 'image_output', quantity: 'q_image_output', unit: 'Tokens', what: 'image output tokens' },
  { dimension: 'request', quantity: 'q_request', unit: 'Requests', what: 'requests' },
  { dimension: 'web_search', quantity: 'q_web_search', unit: 'Requests', what: 'web searches' },
];

/** The token split of pricing's quantities() (src/pricing/sheet.ts), each part at most what is left. */
export const QUANTITIES_SQL = `
    prompt_tokens AS l0,
    least(cached_tokens, l0) AS q_cache_read, l0 - q_cache_read AS l1,
    least(least(cache_write_1h_tokens, cache_write_tokens), l1) AS q_cache_write_1h, l1 - q_cache_write_1h AS l2,
    least(cache_write_tokens - least(cache_write_1h_tokens, cache_write_tokens), l2) AS q_cache_write_5m,
    l2 - q_cache_write_5m AS l3,
    least(audio_input_tokens, l3) AS q_audio_input, l3 - q_audio_input AS l4,
    least(image_input_tokens, l4) AS q_image_input, l4 - q_image_input AS q_input,
    completion_tokens AS o0,
    least(reasoning_tokens, o0) AS q_reasoning, o0 - q_reasoning AS o1,
    least(audio_output_tokens, o1) AS q_audio_output, o1 - q_audio_output AS o2,
    least(image_output_tokens, o2) AS q_image_output, o2 - q_image_output AS q_output,
    CASE WHEN prompt_tokens + completion_tokens + web_search_requests > 0 THEN 1 ELSE 0 END AS q_request,
    web_search_requests AS q_web_search`;

const PRICE = 'DECIMAL(38,18)';
/** Shares are taken in pico-USD units of the list costs (the remainder, in nano-USD, goes to the dearest row). */
const PICO = '1000000000000';

/** `f(d)` for every dimension, joined by `sep`. */
const each = (f: (d: (typeof DIMENSIONS)[number]) => string, sep = ', ') => DIMENSIONS.map(f).join(sep);

/**
 * Per call, in plain columns (no per-row lambdas: this runs for every call of a window): each dimension's
 * unit price (`p_`, NULL when the call has none), list cost when charged (`l_`, NULL when not), its share
 * of cost_nano (`s_`), the remainder and the dearest dimension; then one row per charged dimension (`dim`).
 */
function chargesSql(source: string): string {
  const priceStruct = `{${each((d) => `"${d.dimension}":"VARCHAR"`, ',')},"multiplier":"VARCHAR"}`;
  const none = "'-'";
  return `
WITH calls AS (
  SELECT *, ${QUANTITIES_SQL}, json_transform(unit_prices, '${priceStruct}') AS up, ${TAGS_SQL} AS focus_tags
  FROM ${source}
), listed AS (
  SELECT *,
    coalesce(try_cast(up.multiplier AS ${PRICE}), 1) AS multiplier,
    ${each((d) => `try_cast(up.${d.dimension} AS ${PRICE}) AS p_${d.dimension}`)},
    ${each((d) => `CASE WHEN ${d.quantity} > 0 THEN (${d.quantity} * p_${d.dimension})::${PRICE} END AS l_${d.dimension}`)}
  FROM calls
), shared AS (
  SELECT *,
    ${each((d) => `coalesce((l_${d.dimension} * ${PICO})::HUGEINT, 0)`, ' + ')} AS u_total,
    greatest(${each((d) => `coalesce(l_${d.dimension}, -1)`)}) AS l_max,
    ${each(
      (d) =>
        `CASE WHEN u_total > 0 THEN (cost_nano::HUGEINT * coalesce((l_${d.dimension} * ${PICO})::HUGEINT, 0)) // u_total ELSE 0 END AS s_${d.dimension}`,
    )}
  FROM listed
), balanced AS (
  SELECT *,
    cost_nano::HUGEINT - (${each((d) => `s_${d.dimension}`, ' + ')}) AS remainder,
    CASE ${each((d) => `WHEN l_${d.dimension} = l_max THEN '${d.dimension}'`, ' ')} ELSE ${none} END AS dearest
  FROM shared
)
SELECT *, unnest(list_filter([
    ${each(
      (d) =>
        `{'d': '${d.dimension}', 'q': ${d.quantity}::BIGINT, 'u': '${d.unit}', 'w': '${d.what}', 'p': p_${d.dimension}, 't': up.${d.dimension}, ` +
        `'l': l_${d.dimension}, 'b': (s_${d.dimension} + CASE WHEN dearest = '${d.dimension}' THEN remainder ELSE 0 END)::BIGINT}`,
      ',\n    ',
    )},
    {'d': 'call', 'q': CASE WHEN source = 'correction' THEN 0 ELSE 1 END::BIGINT, 'u': 'Requests',
     'w': CASE WHEN source = 'correction' THEN 're-pricing correction' ELSE 'call' END, 'p': NULL::${PRICE}, 't': NULL::VARCHAR,
     'l': CASE WHEN l_max < 0 AND cost_nano <> 0 THEN 0::${PRICE} END, 'b': cost_nano}
  ], x -> x.l IS NOT NULL)) AS dim
FROM balanced`;
}

const nanoUsd = (expr: string) => `(${expr}::DECIMAL(38,0) / 1000000000)::DECIMAL(18,9)`;
const PERIOD_START = "date_trunc('month', start_time)";

/** FOCUS 1.2 columns, then Spendhouse's own (`x_` prefix, as the spec asks for provider-specific ones). */
export const FOCUS_COLUMNS: readonly FocusColumn[] = [
  { name: 'BilledCost', duck: 'DECIMAL(18,9)', athena: 'decimal(18,9)', expr: 'billed_usd' },
  { name: 'BillingAccountId', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'BillingAccountName', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'BillingAccountType', duck: 'VARCHAR', athena: 'string', expr: "'LLM provider account'" },
  { name: 'BillingCurrency', duck: 'VARCHAR', athena: 'string', expr: "'USD'" },
  { name: 'BillingPeriodStart', duck: 'TIMESTAMP', athena: 'timestamp', expr: PERIOD_START },
  { name: 'BillingPeriodEnd', duck: 'TIMESTAMP', athena: 'timestamp', expr: `${PERIOD_START} + INTERVAL 1 MONTH` },
  { name: 'ChargeCategory', duck: 'VARCHAR', athena: 'string', expr: "'Usage'" },
  {
    name: 'ChargeClass',
    duck: 'VARCHAR',
    athena: 'string',
    expr: "CASE WHEN source = 'correction' THEN 'Correction' END",
  },
  {
    name: 'ChargeDescription',
    duck: 'VARCHAR',
    athena: 'string',
    expr: "concat(coalesce(upstream_model, model), ' ', dim.w, ' (', provider, ')')",
  },
  { name: 'ChargeFrequency', duck: 'VARCHAR', athena: 'string', expr: "'Usage-Based'" },
  { name: 'ChargePeriodStart', duck: 'TIMESTAMP', athena: 'timestamp', expr: 'start_time' },
  {
    name: 'ChargePeriodEnd',
    duck: 'TIMESTAMP',
    athena: 'timestamp',
    expr: 'greatest(end_time, start_time + INTERVAL 1 MILLISECOND)',
  },
  { name: 'ConsumedQuantity', duck: 'DECIMAL(38,0)', athena: 'decimal(38,0)', expr: 'dim.q' },
  { name: 'ConsumedUnit', duck: 'VARCHAR', athena: 'string', expr: 'dim.u' },
  { name: 'ContractedCost', duck: 'DECIMAL(18,9)', athena: 'decimal(18,9)', expr: 'billed_usd' },
  {
    name: 'ContractedUnitPrice',
    duck: PRICE,
    athena: 'decimal(38,18)',
    // The decimal product is costly: only a discounted or marked-up deployment pays for it.
    expr: `CASE WHEN multiplier = 1 THEN dim.p ELSE (dim.p * multiplier::DECIMAL(18,9))::${PRICE} END`,
  },
  { name: 'EffectiveCost', duck: 'DECIMAL(18,9)', athena: 'decimal(18,9)', expr: 'billed_usd' },
  { name: 'InvoiceIssuerName', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'ListCost', duck: PRICE, athena: 'decimal(38,18)', expr: 'dim.l' },
  { name: 'ListUnitPrice', duck: PRICE, athena: 'decimal(38,18)', expr: 'dim.p' },
  { name: 'PricingCategory', duck: 'VARCHAR', athena: 'string', expr: "'Standard'" },
  { name: 'PricingCurrency', duck: 'VARCHAR', athena: 'string', expr: "'USD'" },
  { name: 'PricingQuantity', duck: 'DECIMAL(38,0)', athena: 'decimal(38,0)', expr: 'dim.q' },
  { name: 'PricingUnit', duck: 'VARCHAR', athena: 'string', expr: 'dim.u' },
  { name: 'ProviderName', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'PublisherName', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'ResourceId', duck: 'VARCHAR', athena: 'string', expr: 'key_hash' },
  { name: 'ResourceName', duck: 'VARCHAR', athena: 'string', expr: 'coalesce(key_alias, key_hash)' },
  {
    name: 'ResourceType',
    duck: 'VARCHAR',
    athena: 'string',
    expr: "CASE WHEN key_hash IS NOT NULL THEN 'API Key' END",
  },
  { name: 'ServiceCategory', duck: 'VARCHAR', athena: 'string', expr: "'AI and Machine Learning'" },
  { name: 'ServiceSubcategory', duck: 'VARCHAR', athena: 'string', expr: "'Generative AI'" },
  { name: 'ServiceName', duck: 'VARCHAR', athena: 'string', expr: "concat(provider, ' ', call_type)" },
  { name: 'SkuId', duck: 'VARCHAR', athena: 'string', expr: 'coalesce(upstream_model, model)' },
  { name: 'SkuMeter', duck: 'VARCHAR', athena: 'string', expr: 'dim.d' },
  {
    name: 'SkuPriceId',
    duck: 'VARCHAR',
    athena: 'string',
    // The unit price as the record wrote it (`dim.t`): formatting the decimal again costs more than the rest.
    expr: "CASE WHEN dim.p IS NOT NULL THEN concat(coalesce(upstream_model, model), ':', dim.d, ':', dim.t) END",
  },
  { name: 'SubAccountId', duck: 'VARCHAR', athena: 'string', expr: 'team_id' },
  { name: 'SubAccountName', duck: 'VARCHAR', athena: 'string', expr: 'team_id' },
  { name: 'SubAccountType', duck: 'VARCHAR', athena: 'string', expr: "CASE WHEN team_id IS NOT NULL THEN 'Team' END" },
  { name: 'Tags', duck: 'VARCHAR', athena: 'string', expr: 'focus_tags' },
  { name: 'x_RequestId', duck: 'VARCHAR', athena: 'string', expr: 'request_id' },
  { name: 'x_ChargeDimension', duck: 'VARCHAR', athena: 'string', expr: 'dim.d' },
  { name: 'x_CorrectsRequestId', duck: 'VARCHAR', athena: 'string', expr: 'corrects_request_id' },
  { name: 'x_Model', duck: 'VARCHAR', athena: 'string', expr: 'model' },
  { name: 'x_UserId', duck: 'VARCHAR', athena: 'string', expr: 'user_id' },
  { name: 'x_CustomerId', duck: 'VARCHAR', athena: 'string', expr: 'customer_id' },
  { name: 'x_ServiceTier', duck: 'VARCHAR', athena: 'string', expr: 'service_tier' },
  { name: 'x_PriceSource', duck: 'VARCHAR', athena: 'string', expr: 'price_source' },
  { name: 'x_PriceVersion', duck: 'VARCHAR', athena: 'string', expr: 'price_version' },
  { name: 'x_PriceMultiplier', duck: PRICE, athena: 'decimal(38,18)', expr: 'multiplier' },
  { name: 'x_Source', duck: 'VARCHAR', athena: 'string', expr: 'source' },
];

/**
 * Tags as FOCUS wants them, a JSON object of strings: the call's user and customer, and each request tag —
 * `key:value` as key → value, a bare tag as tag → "" (values of a key given twice joined with `,`).
 */
const TAGS_SQL = `to_json(map_from_entries(
    list_filter([{'k': 'spendhouse:user_id', 'v': user_id::VARCHAR}, {'k': 'spendhouse:customer_id', 'v': customer_id::VARCHAR}],
      x -> x.v IS NOT NULL)
    || list_transform(list_distinct(list_transform(tags, t -> split_part(t, ':', 1))), key -> {'k': key,
      'v': array_to_string(list_transform(list_filter(tags, t -> split_part(t, ':', 1) = key),
        t -> substr(t, length(key) + 2)), ',')})))`;

/** The FOCUS rows of the archive rows in `source` (a DuckDB relation: read_parquet of a window's file). */
export function focusRowsSql(source: string): string {
  const select = FOCUS_COLUMNS.map((c) => `(${c.expr})::${c.duck} AS "${c.name}"`).join(',\n  ');
  // billed_usd once per row: three columns carry it.
  return `SELECT\n  ${select}\nFROM (SELECT *, ${nanoUsd('dim.b')} AS billed_usd FROM (${chargesSql(source)}))`;
}

/** ISO-8601 UTC text for the CSV's timestamps (FOCUS date/time format), exact decimals as text. */
export function focusCsvSql(parquetLiteral: string): string {
  const times = FOCUS_COLUMNS.filter((c) => c.duck === 'TIMESTAMP').map(
    (c) => `strftime("${c.name}", '%Y-%m-%dT%H:%M:%S.%gZ') AS "${c.name}"`,
  );
  return `SELECT * REPLACE (${times.join(', ')}) FROM read_parquet(${parquetLiteral})`;
}
