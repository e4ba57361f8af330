// The /spend/query request: one zod schema for the JSON body, and a translation of the query string
// (`GET /spend/query?group_by=team,model&filters.team.in=a,b&tags.all=x`) into the same object.
import { z } from 'zod';
import { AppError } from '../errors.js';
import { parseBoundedJson } from '../http/jsonBody.js';
import { lookupText } from '../validation/nameText.js';
import { DIMENSIONS, type Dimension, GRANULARITIES, METRICS, type Metric } from './catalog.js';

// A filter value is an id as stored (null = "not set", stored as the empty string).
const filterValue = lookupText().max(512).nullable();
const filterSchema = z.strictObject({
  in: z.array(filterValue).max(1000).optional(),
  not_in: z.array(filterValue).max(1000).optional(),
});
export type DimensionFilter = z.infer<typeof filterSchema>;

const filtersShape = Object.fromEntries(DIMENSIONS.map((d) => [d, filterSchema.optional()])) as Record<
  Dimension,
  z.ZodOptional<typeof filterSchema>
>;

const tagList = z.array(lookupText().min(1).max(200)).max(64);
export const tagFilterSchema = z.strictObject({
  all: tagList.optional(),
  any: tagList.optional(),
  none: tagList.optional(),
});
export type TagFilter = z.infer<typeof tagFilterSchema>;

export const ORDER_FIELDS = ['bucket', ...DIMENSIONS, ...METRICS] as const;
export type OrderField = (typeof ORDER_FIELDS)[number];
const orderTermSchema = z.strictObject({
  field: z.enum(ORDER_FIELDS),
  direction: z.enum(['asc', 'desc']).default('asc'),
});
export type OrderTerm = z.infer<typeof orderTermSchema>;

/** "cost", "-cost", "cost:desc", "cost desc" or {field, direction}. */
const orderTermInput = z.union([
  orderTermSchema,
  z
    .string()
    .max(64)
    .transform((text, ctx): OrderTerm => {
      const match = /^(-)?([a-z_]+)(?:[: ](asc|desc))?$/.exec(text.trim());
      const field = ORDER_FIELDS.find((f) => f === match?.[2]);
      if (!match || !field) {
        ctx.addIssue({ code: 'custom', message: `unknown order_by field ${JSON.stringify(text).slice(0, 70)}` });
        return z.NEVER;
      }
      return { field, direction: match[1] ? 'desc' : ((match[3] as 'asc' | 'desc' | undefined) ?? 'asc') };
    }),
]);

const unique = <T>(items: T[]) => new Set(items).size === items.length;

export const spendQuerySchema = z.strictObject({
  from: z.string().max(64).default('-7d'),
  to: z.string().max(64).default('now'),
  timezone: z.string().max(64).default('UTC'),
  granularity: z.enum(GRANULARITIES).default('none'),
  group_by: z.array(z.enum(DIMENSIONS)).max(DIMENSIONS.length).refine(unique, 'duplicate dimension').default([]),
  filters: z.strictObject(filtersShape).default({}),
  tags: tagFilterSchema.default({}),
  /**
   * Grouped by tag: `overlap` counts a call under each of its tags (rows sum to more than the total);
   * `split` divides it among them, exactly (tagSplit.ts), so rows sum to the total — chargeback.
   */
  tag_attribution: z.enum(['overlap', 'split']).default('overlap'),
  metrics: z
    .array(z.enum(METRICS))
    .min(1)
    .max(METRICS.length)
    .refine(unique, 'duplicate metric')
    .default(['cost', 'requests'] as Metric[]),
  order_by: z.union([orderTermInput, z.array(orderTermInput).max(12)]).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  cursor: z.string().max(200).optional(),
  format: z.enum(['json', 'csv']).default('json'),
  /** `auto` lets the planner choose; `raw` forces the raw table; `rollup` fails if the rollup cannot answer. */
  source: z.enum(['auto', 'rollup', 'raw']).default('auto'),
});
export type SpendQuery = z.infer<typeof spendQuerySchema>;
export type SpendQueryInput = z.input<typeof spendQuerySchema>;

type QueryValue = string | string[] | undefined;
const list = (value: QueryValue): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).flatMap((v) => v.split(',')).filter(Boolean);
const parseJsonParam = (name: string, value: QueryValue): unknown => {
  const text = Array.isArray(value) ? value.at(-1) : value;
  try {
    return parseBoundedJson(text ?? '', name);
  } catch (err) {
    if (err instanceof AppError) throw err; // nested too deeply: a 400 naming the parameter
    return { [`invalid JSON in ${name}`]: true };
  }
};

const SCALARS = [
  'from',
  'to',
  'timezone',
  'granularity',
  'tag_attribution',
  'limit',
  'cursor',
  'format',
  'source',
] as const;
const LISTS = ['group_by', 'metrics', 'order_by'] as const;

/**
 * Query string → request object. Lists are comma separated or repeated; `filters.<dim>.in|not_in`,
 * `tags.all|any|none`; `filters=` / `tags=` also take JSON (for values that contain commas).
 */
export function queryStringToRequest(query: Record<string, QueryValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const filters: Record<string, Record<string, string[]>> = {};
  const tags: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(query)) {
    if ((SCALARS as readonly string[]).includes(name)) out[name] = Array.isArray(value) ? value.at(-1) : value;
    else if ((LISTS as readonly string[]).includes(name)) out[name] = list(value);
    else if (name === 'filters' || name === 'tags') out[name] = parseJsonParam(name, value);
    else if (name.startsWith('tags.')) tags[name.slice(5)] = list(value);
    else if (name.startsWith('filters.')) {
      const [dim = '', op = 'in'] = name.slice(8).split('.');
      filters[dim] = { ...filters[dim], [op]: list(value) };
    } else out[name] = value; // unknown: the strict schema reports it by name
  }
  if (Object.keys(filters).length) out.filters = { ...(out.filters as object), ...filters };
  if (Object.keys(tags).length) out.tags = { ...(out.tags as object), ...tags };
  return out;
}
