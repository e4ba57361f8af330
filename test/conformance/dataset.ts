// The conformance suite's calls: a deterministic few thousand SpendRecords over twelve days around the 2026
// DST changes (Europe 25 Oct, US 1 Nov) and a month edge, with many tag sets, keys, users, teams, customers
// and statuses, calls on exact day/hour/second edges and in the same millisecond, and hostile text (quotes,
// backslashes, commas inside tags, unicode, newlines in metadata and payloads) in every string field a
// query filters, groups or pages on. Seeded (mulberry32): every run, and both servers, get the same calls.
import { hashKey } from '../../src/auth/principal.js';
import type { CostStatus, PriceSource, SpendRecord } from '../../src/spendRecord.js';
import { seededInts } from '../helpers/seededRandom.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** First day of the data: Thursday 22 October 2026, UTC. */
export const BASE_MS = Date.UTC(2026, 9, 22);
export const DAYS = 12;

/** The hash of the suite's i-th key (KEYS[i]). */
export const keyHash = (i: number) => hashKey(`sk-conformance-${i}-0123456789abcdef`);
export const KEYS = Array.from({ length: 8 }, (_, i) => keyHash(i));
export const TEAMS = ['team-a', 'team-b', 'team "quoted"', "team-o'neil", 'équipe-ü'] as const;
export const USERS = [
  'u-1',
  'u-2',
  'u-3',
  'u-4',
  "o'brien",
  'back\\slash',
  '日本語',
  'emoji 🚀',
  'comma,user',
] as const;
export const CUSTOMERS = ['cust-1', 'cust-2', 'cust-3', "cust'4", 'cust\\5'] as const;
export const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', 'text-embedding-3-small', "model'q"] as const;
const PROVIDERS: Record<string, string> = {
  'gpt-4o': 'openai',
  'gpt-4o-mini': 'azure',
  'claude-3-5-sonnet': 'anthropic',
  'text-embedding-3-small': 'openai',
  "model'q": 'custom',
};
export const TAGS = [
  'prod',
  'staging',
  'onboarding',
  'search',
  'a,b',
  "quote'tag",
  'back\\slash',
  'ünïcode',
  'emoji🎉',
  '%like_',
  '[bracket]',
  '3:abc',
  'x',
] as const;
const ALIASES = ['alias-1', "alias'2", 'alias\\3', 'alias "4"', 'ålias-5'];
const STATUSES = [200, 200, 200, 200, 201, 302, 400, 401, 429, 429, 500, 503];
const CALL_TYPES = ['chat', 'chat', 'completion', 'embedding', 'messages'];
const COST_STATUSES = ['priced', 'priced', 'priced', 'custom', 'provided', 'unpriced'] as const;

const pick = <T>(next: (mod: number) => number, items: readonly T[]): T => items[next(items.length)] as T;
const maybe = <T>(next: (mod: number) => number, value: T, nullOneIn: number): T | null =>
  next(nullOneIn) === 0 ? null : value;

/** Instants that sit on an edge a window, a bucket or a partition is cut at (or 1 ms before it). */
function edgeInstants(): number[] {
  const out: number[] = [];
  for (let d = 0; d < DAYS; d++) {
    const day = BASE_MS + d * DAY_MS;
    out.push(day, day - 1, day + 1000, day + 999, day + 12 * HOUR_MS, day + 12 * HOUR_MS - 1);
  }
  const dst = [Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 10, 1, 6), Date.UTC(2026, 10, 1)];
  for (const t of dst) out.push(t, t - 1, t + 500);
  // Inside-a-second window edges the matrix asks for (windows.ts): calls just before and after them.
  out.push(Date.UTC(2026, 9, 24, 5, 17, 23, 455), Date.UTC(2026, 9, 24, 5, 17, 23, 456));
  out.push(Date.UTC(2026, 9, 27, 11, 0, 0, 499), Date.UTC(2026, 9, 27, 11, 0, 0, 500));
  return out;
}

const SERVICE_TIERS = ['', 'default', 'flex', 'priority'];
const PRICE_SOURCES: Record<CostStatus, PriceSource> = {
  priced: 'catalog',
  custom: 'config',
  provided: 'caller',
  unpriced: 'none',
};

function record(i: number, startMs: number, next: (mod: number) => number, requestId?: string): SpendRecord {
  const model = pick(next, MODELS);
  const status = pick(next, STATUSES);
  const prompt = next(5000);
  const completion = model.startsWith('text-embedding') ? 0 : next(2000);
  const duration = next(30_000);
  const tags = Array.from({ length: next(5) }, () => pick(next, TAGS));
  const costStatus = pick(next, COST_STATUSES);
  // A few calls of ~2^50 nano-USD each: sums past 2^53 must arrive exact (quoted 64-bit integers).
  const cost = costStatus === 'unpriced' ? 0 : i % 97 === 0 ? 2 ** 50 + next(1_000_000) : next(3_000_000_000);
  const metadata: Record<string, string> = {};
  if (next(3) === 0) metadata.env = pick(next, ['prod', 'dev', "it's", 'line\nbreak', 'tab\there']);
  if (next(4) === 0) metadata['trace-id'] = `tr-${next(1_000_000)}`;
  const withPayload = next(6) === 0;
  const key = maybe(next, pick(next, KEYS), 12);
  return {
    request_id: requestId ?? `conf-${String(i).padStart(5, '0')}`,
    response_id: maybe(next, `chatcmpl-${i}`, 5),
    start_time: new Date(startMs).toISOString(),
    end_time: new Date(startMs + duration).toISOString(),
    duration_ms: duration,
    ttft_ms: next(3) === 0 ? next(duration + 1) : null,
    call_type: pick(next, CALL_TYPES),
    status,
    error_type: status >= 400 ? pick(next, ['rate_limited', 'upstream_error', "error'quoted"]) : null,
    key_hash: key,
    key_alias: key === null ? null : maybe(next, pick(next, ALIASES), 3),
    user_id: maybe(next, pick(next, USERS), 8),
    team_id: maybe(next, pick(next, TEAMS), 6),
    customer_id: maybe(next, pick(next, CUSTOMERS), 3),
    model,
    upstream_model: `${model}-2026`,
    provider: PROVIDERS[model] ?? 'openai',
    prompt_tokens: prompt,
    completion_tokens: completion,
    cached_tokens: next(4) === 0 ? next(prompt + 1) : 0,
    cache_write_tokens: next(10) === 0 ? next(500) : 0,
    reasoning_tokens: next(8) === 0 ? next(completion + 1) : 0,
    total_tokens: prompt + completion,
    // Issue 19's fields, derived from the values above (no draw of `next`: the rest of the dataset stays).
    audio_input_tokens: i % 9 === 0 ? Math.floor(prompt / 4) : 0,
    image_input_tokens: i % 11 === 0 ? Math.floor(prompt / 3) : 0,
    audio_output_tokens: i % 13 === 0 ? Math.floor(completion / 2) : 0,
    image_output_tokens: i % 17 === 0 ? Math.floor(completion / 5) : 0,
    cache_write_1h_tokens: 0,
    web_search_requests: i % 6 === 0 ? i % 4 : 0,
    service_tier: SERVICE_TIERS[i % SERVICE_TIERS.length] ?? '',
    cost_nano: cost,
    list_cost_nano: i % 3 === 0 ? cost + Math.floor(cost / 8) : cost,
    provider_cost_nano: i % 5 === 0 ? cost : null,
    price_source: PRICE_SOURCES[costStatus],
    price_version: costStatus === 'priced' ? 'genai-prices@0.1.8' : '',
    unit_prices: i % 2 ? { input: '0.0000025', output: '0.00001', multiplier: i % 3 === 0 ? '1.125' : '1' } : {},
    corrects_request_id: null,
    cost_status: costStatus,
    usage_estimated: next(10) === 0,
    tags,
    metadata,
    stream: next(3) === 0,
    source: next(5) === 0 ? 'ingest' : 'proxy',
    ...(withPayload
      ? {
          messages: JSON.stringify([{ role: 'user', content: `hi "${i}" \\ ünï ${pick(next, TAGS)}\nbye` }]),
          response: JSON.stringify({ choices: [{ message: { content: `ok'${i}'` } }] }),
        }
      : {}),
  };
}

/** Request ids a logs page or detail lookup must handle byte for byte (sorted among the plain ones). */
export const HOSTILE_REQUEST_IDS = ["q'uote-1", 'back\\slash-2', 'ünï-3', 'emoji-🎉-4', 'sp ace-5', 'conf-00010"x'];

/** Every call of the suite, in insertion order (the tags of a record are as a client sends them: unsorted). */
export function conformanceRecords(count = 3000): SpendRecord[] {
  const next = seededInts(20261207);
  const out: SpendRecord[] = [];
  const edges = edgeInstants();
  for (let i = 0; i < count; i++) out.push(record(i, BASE_MS + next(DAYS * DAY_MS), next));
  edges.forEach((t, j) => {
    out.push(record(count + j, t, next));
  });
  // Several calls in one millisecond: logs pages break the tie on request_id.
  const same = Date.UTC(2026, 9, 26, 9, 30, 0, 250);
  for (let j = 0; j < 7; j++) out.push(record(count + edges.length + j, same, next));
  HOSTILE_REQUEST_IDS.forEach((id, j) => {
    out.push(record(count + edges.length + 7 + j, same + (j % 2), next, id));
  });
  return out;
}
