// Local fakes of the providers' cost report APIs, speaking their documented shapes: OpenAI's
// `GET /v1/organization/costs` (Bearer admin key; buckets `{object: "bucket", start_time, end_time,
// results: [{object: "organization.costs.result", amount: {value, currency}, line_item, project_id}]}`,
// `has_more`, `next_page`, cursor sent back as `page`) and Anthropic's `GET /v1/organizations/cost_report`
// (x-api-key + anthropic-version; buckets `{starting_at, ending_at, results: [{amount: "cents", currency,
// description, model, cost_type, token_type, …}]}`, `has_more`, `next_page`). Buckets come `pageSize` per
// page so pagination is always exercised; `failNext` scripts error answers (401, 429 + retry-after, 500).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedFailure {
  status: number;
  retryAfter?: string;
  body?: unknown;
}

export interface FakeCostApi {
  /** Day (YYYY-MM-DD) → the raw `results` of its bucket (hostile values welcome). A day absent = no bucket. */
  days: Map<string, unknown[]>;
  failures: ScriptedFailure[];
  requests: URL[];
  pageSize: number;
  /** Overrides the next_page cursor of every page (a repeating cursor, say). */
  cursorOverride: string | null;
}

export interface FakeCostApis {
  origin: string;
  openai: FakeCostApi;
  anthropic: FakeCostApi;
  close(): Promise<void>;
}

export const FAKE_OPENAI_ADMIN_KEY = 'sk-admin-fake-openai-0123456789';
export const FAKE_ANTHROPIC_ADMIN_KEY = 'sk-ant-admin01-fake-anthropic-0123456789';

const DAY_MS = 86_400_000;
const api = (): FakeCostApi => ({ days: new Map(), failures: [], requests: [], pageSize: 2, cursorOverride: null });

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The days in [from, to) the fake has a bucket for, one page of them from the cursor on. */
function page(fake: FakeCostApi, fromMs: number, toMs: number, cursor: string | null) {
  const days: string[] = [];
  for (let ms = fromMs; ms < toMs; ms += DAY_MS) {
    const day = new Date(ms).toISOString().slice(0, 10);
    if (fake.days.has(day)) days.push(day);
  }
  // A cursor the fake did not make (cursorOverride) starts over from the first day again.
  const start = Number(cursor ? Buffer.from(cursor.replace(/^page_/, ''), 'base64url').toString() : 0) || 0;
  const shown = days.slice(start, start + fake.pageSize);
  const more = start + fake.pageSize < days.length;
  const next = more
    ? (fake.cursorOverride ?? `page_${Buffer.from(String(start + fake.pageSize)).toString('base64url')}`)
    : null;
  return { shown, more, next };
}

function failure(fake: FakeCostApi, res: ServerResponse): boolean {
  const next = fake.failures.shift();
  if (!next) return false;
  send(res, next.status, next.body ?? { error: { message: `scripted ${next.status}`, type: 'error' } }, {
    ...(next.retryAfter ? { 'retry-after': next.retryAfter } : {}),
  });
  return true;
}

function openAi(fake: FakeCostApi, url: URL, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== `Bearer ${FAKE_OPENAI_ADMIN_KEY}`) {
    send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    return;
  }
  if (failure(fake, res)) return;
  const from = Number(url.searchParams.get('start_time')) * 1000;
  const to = Number(url.searchParams.get('end_time') ?? Date.now() / 1000) * 1000;
  const { shown, more, next } = page(fake, from, to, url.searchParams.get('page'));
  send(res, 200, {
    object: 'page',
    data: shown.map((day) => ({
      object: 'bucket',
      start_time: Date.parse(`${day}T00:00:00Z`) / 1000,
      end_time: Date.parse(`${day}T00:00:00Z`) / 1000 + 86_400,
      results: (fake.days.get(day) ?? []).map((r) => ({
        object: 'organization.costs.result',
        project_id: null,
        ...(r as object),
      })),
    })),
    has_more: more,
    next_page: next,
  });
}

function anthropic(fake: FakeCostApi, url: URL, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers['x-api-key'] !== FAKE_ANTHROPIC_ADMIN_KEY || !req.headers['anthropic-version']) {
    send(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    return;
  }
  if (failure(fake, res)) return;
  const from = Date.parse(url.searchParams.get('starting_at') ?? '');
  const to = Date.parse(url.searchParams.get('ending_at') ?? new Date().toISOString());
  const { shown, more, next } = page(fake, from, to, url.searchParams.get('page'));
  send(res, 200, {
    data: shown.map((day) => ({
      starting_at: `${day}T00:00:00Z`,
      ending_at: new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().replace('.000', ''),
      results: fake.days.get(day) ?? [],
    })),
    has_more: more,
    next_page: next,
  });
}

export async function startFakeCostApis(): Promise<FakeCostApis> {
  const fakes = { openai: api(), anthropic: api() };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/v1/organization/costs') {
      fakes.openai.requests.push(url);
      return openAi(fakes.openai, url, req, res);
    }
    if (req.method === 'GET' && url.pathname === '/v1/organizations/cost_report') {
      fakes.anthropic.requests.push(url);
      return anthropic(fakes.anthropic, url, req, res);
    }
    send(res, 404, { error: { message: 'not found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    ...fakes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
