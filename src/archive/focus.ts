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
/** The `call` row's index, after the dimensions' (1-based, as DuckDB's lists). */
const CALL_ROW = DIMENSIONS.length + 1;

/** `f(d, i)` for every dimension (i 1-based), joined by `sep`. */
const each = (f: (d: (typeof DIMENSIONS)[number], i: number) => string, sep = ', ') =>
  DIMENSIONS.map((d, i) => f(d, i + 1)).join(sep);

/** A DuckDB list literal of one text per row kind (the dimensions, then `call`), indexed by `charge`. */
const perRow = (f: (d: (typeof DIMENSIONS)[number]) => string, call: string) =>
  `[${each((d) => `'${f(d)}'`)}, ${call}][charge]`;

/**
 * The columns a FOCUS row is built from (the archive columns FOCUS_COLUMNS use, tokens and prices), so the
 * rows multiplied by the unnest carry nothing else.
 */
const CALL_COLUMNS = `file_row_number request_id start_time end_time call_type key_hash key_alias user_id team_id
  customer_id model upstream_model provider cost_nano source service_tier price_source price_version
  corrects_request_id unit_prices tags prompt_tokens completion_tokens cached_tokens cache_write_tokens
  cache_write_1h_tokens reasoning_tokens audio_input_tokens audio_output_tokens image_input_tokens
  image_output_tokens web_search_requests`.split(/\s+/);

/** What a call's FOCUS rows keep of it (FOCUS_COLUMNS' inputs): the unnest copies these, and the sort moves them. */
const ROW_COLUMNS = `file_row_number request_id start_time end_time call_type key_hash key_alias user_id team_id
  customer_id model upstream_model provider source service_tier price_source price_version corrects_request_id
  multiplier tag_members`.split(/\s+/);

/**
 * The charges of every call, in the file's order (file_row_number), one row per charged dimension:
 * - `prices`: each distinct `unit_prices` of the window parsed once (a window has a handful), each
 *   dimension's exact unit price (`p_`, NULL when the call has none), its text (`t_`) and a DOUBLE (`f_`);
 * - `tag_sets`: each distinct tag list's JSON members once (the Tags column, below);
 * - per call: each charged dimension's weight (quantity × price as DOUBLE, NULL when not charged), its share
 *   of cost_nano rounded down, and the remainder; the shares only decide how cost_nano is divided, and the
 *   remainder on the dearest row makes a call's rows add up to its cost_nano exactly, whatever the rounding;
 * - then one row per charged dimension (`charge`: its 1-based index, CALL_ROW for a call's single row).
 * The per-call work stays in plain columns and exact decimals are multiplied once per row written:
 * measured in bench/README.md ("FOCUS export").
 */
function chargesSql(parquet: string): string {
  const priceStruct = `{${each((d) => `"${d.dimension}":"VARCHAR"`, ',')},"multiplier":"VARCHAR"}`;
  return `
WITH prices AS (
  SELECT *, ${each((d) => `p_${d.dimension}::DOUBLE AS f_${d.dimension}`)} FROM (
  SELECT price_key, coalesce(try_cast(up.multiplier AS ${PRICE}), 1) AS multiplier,
    ${each((d) => `try_cast(up.${d.dimension} AS ${PRICE}) AS p_${d.dimension}, up.${d.dimension} AS t_${d.dimension}`)}
  FROM (SELECT price_key, json_transform(price_key, '${priceStruct}') AS up
        FROM (SELECT DISTINCT unit_prices AS price_key FROM read_parquet(${parquet}))))
), tag_sets AS (
  SELECT tag_key, substr(members, 2, length(members) - 2) AS tag_members
  FROM (SELECT tag_key, ${TAG_MEMBERS_SQL} AS members FROM (SELECT DISTINCT tags AS tag_key FROM read_parquet(${parquet})))
), calls AS (
  SELECT ${CALL_COLUMNS.map((c) => `c.${c}`).join(', ')}, ${QUANTITIES_SQL},
    prices.* EXCLUDE (price_key), tag_members
  FROM read_parquet(${parquet}, file_row_number = true) AS c
  LEFT JOIN prices ON c.unit_prices = prices.price_key
  LEFT JOIN tag_sets ON c.tags = tag_sets.tag_key
), weighed AS (
  SELECT *,
    ${each((d) => `CASE WHEN ${d.quantity} > 0 THEN ${d.quantity} * f_${d.dimension} END AS w_${d.dimension}`)}
  FROM calls
), shared AS (
  SELECT *,
    ${each((d) => `coalesce(w_${d.dimension}, 0)`, ' + ')} AS w_total,
    greatest(${each((d) => `coalesce(w_${d.dimension}, -1)`)}) AS w_max,
    ${each(
      (d) =>
        `CASE WHEN w_total > 0 THEN floor(cost_nano * (coalesce(w_${d.dimension}, 0) / w_total))::BIGINT ELSE 0 END AS s_${d.dimension}`,
    )}
  FROM weighed
), balanced AS (
  SELECT *,
    cost_nano - (${each((d) => `s_${d.dimension}`, ' + ')}) AS remainder,
    CASE ${each((d, i) => `WHEN w_${d.dimension} = w_max THEN ${i}`, ' ')} ELSE 0 END AS dearest
  FROM shared
), charged AS (
  SELECT ${ROW_COLUMNS.join(', ')}, unnest(list_filter([
      ${each(
        (d, i) =>
          `{'c': w_${d.dimension} IS NOT NULL, 'i': ${i}, 'q': ${d.quantity}, 'p': p_${d.dimension}, 't': t_${d.dimension}, ` +
          `'b': s_${d.dimension} + CASE WHEN dearest = ${i} THEN remainder ELSE 0 END}`,
        ',\n      ',
      )},
      {'c': w_max < 0 AND cost_nano <> 0, 'i': ${CALL_ROW}, 'q': CASE WHEN source = 'correction' THEN 0 ELSE 1 END,
       'p': NULL::${PRICE}, 't': NULL::VARCHAR, 'b': cost_nano}
    ], x -> x.c)) AS dim
  FROM balanced
)
SELECT * EXCLUDE (dim), dim.i AS charge, dim.q AS charge_quantity, dim.p AS unit_price, dim.t AS unit_price_text,
  dim.b AS billed_nano,
  ${perRow((d) => d.dimension, "'call'")} AS charge_dimension,
  ${perRow((d) => d.unit, "'Requests'")} AS charge_unit,
  ${perRow((d) => d.what, "CASE WHEN source = 'correction' THEN 're-pricing correction' ELSE 'call' END")} AS charge_what,
  CASE WHEN dim.i = ${CALL_ROW} THEN 0::${PRICE} ELSE (dim.q * dim.p)::${PRICE} END AS list_cost
FROM charged
ORDER BY file_row_number, charge`;
}

/**
 * Tags as FOCUS wants them, a JSON object of strings: the call's user and customer, then each request tag —
 * `key:value` as key → value, a bare tag as tag → "" (values of a key given twice joined with `,`). A tag's
 * key never holds a `:`, so it never meets the two `spendhouse:` names. TAG_MEMBERS_SQL is the object of one
 * distinct tag list (`tag_key`), built once per list; TAGS_SQL adds a row's user and customer to its members.
 */
const TAG_MEMBERS_SQL = `to_json(map_from_entries(list_transform(list_distinct(list_transform(tag_key, t -> split_part(t, ':', 1))),
    key -> {'k': key, 'v': array_to_string(list_transform(list_filter(tag_key, t -> split_part(t, ':', 1) = key),
      t -> substr(t, length(key) + 2)), ',')})))`;
const TAGS_SQL = `concat('{', concat_ws(',', '"spendhouse:user_id":' || to_json(user_id),
    '"spendhouse:customer_id":' || to_json(customer_id), nullif(tag_members, '')), '}')`;

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
    expr: "concat(coalesce(upstream_model, model), ' ', charge_what, ' (', provider, ')')",
  },
  { name: 'ChargeFrequency', duck: 'VARCHAR', athena: 'string', expr: "'Usage-Based'" },
  { name: 'ChargePeriodStart', duck: 'TIMESTAMP', athena: 'timestamp', expr: 'start_time' },
  {
    name: 'ChargePeriodEnd',
    duck: 'TIMESTAMP',
    athena: 'timestamp',
    expr: 'greatest(end_time, start_time + INTERVAL 1 MILLISECOND)',
  },
  { name: 'ConsumedQuantity', duck: 'DECIMAL(38,0)', athena: 'decimal(38,0)', expr: 'charge_quantity' },
  { name: 'ConsumedUnit', duck: 'VARCHAR', athena: 'string', expr: 'charge_unit' },
  { name: 'ContractedCost', duck: 'DECIMAL(18,9)', athena: 'decimal(18,9)', expr: 'billed_usd' },
  {
    name: 'ContractedUnitPrice',
    duck: PRICE,
    athena: 'decimal(38,18)',
    // The decimal product is costly: only a discounted or marked-up deployment pays for it.
    expr: `CASE WHEN multiplier = 1 THEN unit_price ELSE (unit_price * multiplier::DECIMAL(18,9))::${PRICE} END`,
  },
  { name: 'EffectiveCost', duck: 'DECIMAL(18,9)', athena: 'decimal(18,9)', expr: 'billed_usd' },
  { name: 'InvoiceIssuerName', duck: 'VARCHAR', athena: 'string', expr: 'provider' },
  { name: 'ListCost', duck: PRICE, athena: 'decimal(38,18)', expr: 'list_cost' },
  { name: 'ListUnitPrice', duck: PRICE, athena: 'decimal(38,18)', expr: 'unit_price' },
  { name: 'PricingCategory', duck: 'VARCHAR', athena: 'string', expr: "'Standard'" },
  { name: 'PricingCurrency', duck: 'VARCHAR', athena: 'string', expr: "'USD'" },
  { name: 'PricingQuantity', duck: 'DECIMAL(38,0)', athena: 'decimal(38,0)', expr: 'charge_quantity' },
  { name: 'PricingUnit', duck: 'VARCHAR', athena: 'string', expr: 'charge_unit' },
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
  { name: 'SkuMeter', duck: 'VARCHAR', athena: 'string', expr: 'charge_dimension' },
  {
    name: 'SkuPriceId',
    duck: 'VARCHAR',
    athena: 'string',
    // The unit price as the record wrote it: formatting the decimal again costs more than the rest.
    expr: "CASE WHEN unit_price IS NOT NULL THEN concat(coalesce(upstream_model, model), ':', charge_dimension, ':', unit_price_text) END",
  },
  { name: 'SubAccountId', duck: 'VARCHAR', athena: 'string', expr: 'team_id' },
  { name: 'SubAccountName', duck: 'VARCHAR', athena: 'string', expr: 'team_id' },
  { name: 'SubAccountType', duck: 'VARCHAR', athena: 'string', expr: "CASE WHEN team_id IS NOT NULL THEN 'Team' END" },
  { name: 'Tags', duck: 'VARCHAR', athena: 'string', expr: TAGS_SQL },
  { name: 'x_RequestId', duck: 'VARCHAR', athena: 'string', expr: 'request_id' },
  { name: 'x_ChargeDimension', duck: 'VARCHAR', athena: 'string', expr: 'charge_dimension' },
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

/** The FOCUS rows of a window's archive Parquet file (`parquet`: its path as a DuckDB string literal). */
export function focusRowsSql(parquet: string): string {
  const select = FOCUS_COLUMNS.map((c) => `(${c.expr})::${c.duck} AS "${c.name}"`).join(',\n  ');
  // billed_usd once per row: three columns carry it.
  return `SELECT\n  ${select}\nFROM (SELECT *, ${nanoUsd('billed_nano')} AS billed_usd FROM (${chargesSql(parquet)}))`;
}

/** ISO-8601 UTC text for the CSV's timestamps (FOCUS date/time format), exact decimals as text. */
export function focusCsvSql(parquetLiteral: string): string {
  const times = FOCUS_COLUMNS.filter((c) => c.duck === 'TIMESTAMP').map(
    (c) => `strftime("${c.name}", '%Y-%m-%dT%H:%M:%S.%gZ') AS "${c.name}"`,
  );
  return `SELECT * REPLACE (${times.join(', ')}) FROM read_parquet(${parquetLiteral})`;
}
