// The providers' daily cost reports, read page by page into cost lines: one per UTC day × line item, in
// nano-USD. Shapes as documented: OpenAI `GET /v1/organization/costs` (buckets of `results` with
// `amount: {value, currency}` and `line_item`; `has_more` / `next_page`, sent back as `page`) and Anthropic
// `GET /v1/organizations/cost_report` (buckets of `results` with `amount` in cents as a string, `currency`,
// `description`, `model`; `has_more` / `next_page`). A malformed page fails the import; a malformed line is
// skipped and named in `skipped`, so one hostile value cannot hide the rest of the bill.
import { z } from 'zod';
import { storableName } from '../spendRecord.js';
import { AmountError, anthropicAmountNano, openAiAmountNano } from './amounts.js';
import { type CostProvider, getJson, type HttpPolicy, ReportError } from './providerHttp.js';

export interface CostLine {
  day: string;
  lineItem: string;
  /** The provider's model for the line ('' for tool calls, storage, …). */
  model: string;
  costNano: number;
}

export interface ProviderReport {
  provider: CostProvider;
  /** Days the provider answered a bucket for (an empty bucket is a day billed $0). */
  days: Set<string>;
  lines: CostLine[];
  /** Why lines were left out (bad amount, foreign currency, a bucket outside the window). */
  skipped: string[];
}

export interface ReportRequest {
  /** First day, YYYY-MM-DD (UTC). */
  fromDay: string;
  /** Day after the last, YYYY-MM-DD (UTC). */
  toDay: string;
  adminKey: string;
  apiBase: string;
  policy: HttpPolicy;
}

const MAX_PAGES = 500;
const MAX_LINE_ITEM = 256;
const MAX_SKIPPED_SHOWN = 20;
/** A model id as providers write them: no spaces (line items like "web search tool calls" are not models). */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
const DAY_MS = 86_400_000;

const pageSchema = <B extends z.ZodType>(bucket: B) =>
  z.object({ data: z.array(bucket).max(10_000), has_more: z.boolean(), next_page: z.string().max(4096).nullish() });
const openAiPage = pageSchema(z.object({ start_time: z.number().int(), results: z.array(z.unknown()).max(100_000) }));
const anthropicPage = pageSchema(
  z.object({ starting_at: z.string().max(64), results: z.array(z.unknown()).max(100_000) }),
);
const openAiResult = z.object({
  amount: z.object({ value: z.unknown(), currency: z.unknown() }),
  line_item: z.string().nullish(),
});
const anthropicResult = z.object({
  amount: z.unknown(),
  currency: z.unknown(),
  description: z.string().nullish(),
  model: z.string().nullish(),
  cost_type: z.string().nullish(),
  token_type: z.string().nullish(),
});

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const cleanText = (text: string) => storableName(text.trim().slice(0, MAX_LINE_ITEM));
const modelOf = (text: string | null | undefined) => (text && MODEL_ID.test(text.trim()) ? text.trim() : '');

/** Sums a report's lines per day × line item (a provider may split one item across results). */
class ReportBuilder {
  readonly days = new Set<string>();
  readonly skipped: string[] = [];
  private readonly lines = new Map<string, CostLine>();

  constructor(
    private readonly provider: CostProvider,
    private readonly request: ReportRequest,
  ) {}

  /** The bucket's day, or null (skipped) when it lies outside the requested window. */
  bucketDay(startMs: number): string | null {
    if (!Number.isFinite(startMs)) {
      this.skip('a bucket with an unreadable start');
      return null;
    }
    const day = dayOf(startMs);
    if (day < this.request.fromDay || day >= this.request.toDay) {
      this.skip(`a bucket for ${day}, outside the window`);
      return null;
    }
    this.days.add(day);
    return day;
  }

  add(day: string, lineItem: string, model: string, amount: () => number): void {
    const where = `${day} ${JSON.stringify(lineItem.slice(0, 60))}`;
    let costNano: number;
    try {
      costNano = amount();
    } catch (err) {
      if (!(err instanceof AmountError)) throw err;
      this.skip(`${where}: ${err.message}`);
      return;
    }
    const key = `${day}\u0000${lineItem}`;
    const line = this.lines.get(key) ?? { day, lineItem, model, costNano: 0 };
    const sum = line.costNano + costNano;
    if (!Number.isSafeInteger(sum)) {
      this.skip(`${where}: sum out of range`);
      return;
    }
    this.lines.set(key, { ...line, model: line.model || model, costNano: sum });
  }

  skip(reason: string): void {
    this.skipped.push(reason);
  }

  build(): ProviderReport {
    const skipped = this.skipped.slice(0, MAX_SKIPPED_SHOWN);
    if (this.skipped.length > MAX_SKIPPED_SHOWN) skipped.push(`… and ${this.skipped.length - MAX_SKIPPED_SHOWN} more`);
    return { provider: this.provider, days: this.days, lines: [...this.lines.values()], skipped };
  }
}

/** Follows `next_page` until `has_more` is false; a cursor seen twice or too many pages is an error. */
async function eachPage<P extends { has_more: boolean; next_page?: string | null | undefined }>(
  provider: CostProvider,
  fetchPage: (page: string | null) => Promise<P>,
  onPage: (page: P) => void,
): Promise<void> {
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (let n = 0; n < MAX_PAGES; n++) {
    const page = await fetchPage(cursor);
    onPage(page);
    if (!page.has_more) return;
    if (!page.next_page) throw new ReportError(provider, 200, 'has_more without a next_page');
    if (seen.has(page.next_page)) throw new ReportError(provider, 200, 'next_page repeats an earlier cursor');
    seen.add(page.next_page);
    cursor = page.next_page;
  }
  throw new ReportError(provider, 200, `more than ${MAX_PAGES} pages`);
}

function parsePage<S extends z.ZodType>(provider: CostProvider, schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ReportError(provider, 200, `unexpected response shape at ${issue?.path.join('.') || 'the top'}`);
}

const startOf = (day: string) => Date.parse(`${day}T00:00:00Z`);

export async function fetchOpenAiCosts(request: ReportRequest): Promise<ProviderReport> {
  const report = new ReportBuilder('openai', request);
  const days = Math.round((startOf(request.toDay) - startOf(request.fromDay)) / DAY_MS);
  await eachPage(
    'openai',
    async (page) => {
      const url = new URL('/v1/organization/costs', request.apiBase);
      url.searchParams.set('start_time', String(startOf(request.fromDay) / 1000));
      url.searchParams.set('end_time', String(startOf(request.toDay) / 1000));
      url.searchParams.set('bucket_width', '1d');
      url.searchParams.set('group_by', 'line_item');
      url.searchParams.set('limit', String(Math.min(180, Math.max(1, days))));
      if (page) url.searchParams.set('page', page);
      const headers = { authorization: `Bearer ${request.adminKey}`, accept: 'application/json' };
      return parsePage('openai', openAiPage, await getJson('openai', url, headers, request.policy));
    },
    (page) => {
      for (const bucket of page.data) {
        const day = report.bucketDay(bucket.start_time * 1000);
        if (day === null) continue;
        for (const raw of bucket.results) {
          const result = openAiResult.safeParse(raw);
          if (!result.success) {
            report.skip(`${day}: a result of unexpected shape`);
            continue;
          }
          const lineItem = cleanText(result.data.line_item ?? '') || 'unattributed';
          // "gpt-4o-2024-08-06, input": the model is what comes before the comma.
          const model = modelOf(lineItem.split(',')[0]);
          report.add(day, lineItem, model, () =>
            openAiAmountNano(result.data.amount.value, result.data.amount.currency),
          );
        }
      }
    },
  );
  return report.build();
}

export async function fetchAnthropicCosts(request: ReportRequest): Promise<ProviderReport> {
  const report = new ReportBuilder('anthropic', request);
  await eachPage(
    'anthropic',
    async (page) => {
      const url = new URL('/v1/organizations/cost_report', request.apiBase);
      url.searchParams.set('starting_at', new Date(startOf(request.fromDay)).toISOString());
      url.searchParams.set('ending_at', new Date(startOf(request.toDay)).toISOString());
      url.searchParams.set('bucket_width', '1d');
      url.searchParams.append('group_by[]', 'description');
      url.searchParams.set('limit', '31');
      if (page) url.searchParams.set('page', page);
      const headers = { 'x-api-key': request.adminKey, 'anthropic-version': '2023-06-01', accept: 'application/json' };
      return parsePage('anthropic', anthropicPage, await getJson('anthropic', url, headers, request.policy));
    },
    (page) => {
      for (const bucket of page.data) {
        const day = report.bucketDay(Date.parse(bucket.starting_at));
        if (day === null) continue;
        for (const raw of bucket.results) {
          const result = anthropicResult.safeParse(raw);
          if (!result.success) {
            report.skip(`${day}: a result of unexpected shape`);
            continue;
          }
          const r = result.data;
          const described = r.description ?? [r.model, r.cost_type, r.token_type].filter(Boolean).join(', ');
          const lineItem = cleanText(described) || 'unattributed';
          report.add(day, lineItem, modelOf(r.model), () => anthropicAmountNano(r.amount, r.currency));
        }
      }
    },
  );
  return report.build();
}
