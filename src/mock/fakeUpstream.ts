// A local fake LLM provider for tests and benchmarks: a real HTTP server speaking OpenAI (chat, completions,
// embeddings, JSON and SSE) and Anthropic Messages, with scripted latency, token counts and errors.
// Scenario per request = defaults ← model-name conventions (`fail-429`, `slow-2000`) ← `forModel(model, …)`
// ← an `x-fake-scenario` JSON header. Every request it receives is recorded for assertions.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_MOCK_TEXT,
  type ReplyScenario,
  renderMockReply,
  type WireEndpoint,
} from '../proxy/providers/mockReply.js';

export interface FakeScenario extends Partial<ReplyScenario> {
  /** Delay before the response headers. */
  latencyMs?: number;
  /** Delay between stream frames. */
  chunkDelayMs?: number;
  /** Answer with this status (and body, default a provider-shaped error) instead of a reply. */
  error?: { status: number; body?: unknown; headers?: Record<string, string> };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
  endpoint: WireEndpoint | null;
  /** True when the caller closed the connection before the reply was complete. */
  aborted: boolean;
}

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`; OpenAI-style deployments use `${url}/v1` as api_base. */
  url: string;
  requests: RecordedRequest[];
  forModel(model: string, scenario: FakeScenario): void;
  setDefaults(scenario: FakeScenario): void;
  close(): Promise<void>;
}

function endpointOf(path: string): WireEndpoint | null {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completion';
  if (path.endsWith('/embeddings')) return 'embedding';
  if (path.endsWith('/messages')) return 'messages';
  return null;
}

/** `fail-<status>` answers with that status; `slow-<ms>` waits before answering. */
function conventionFor(model: string): FakeScenario {
  const fail = /^fail-(\d{3})$/.exec(model);
  if (fail) return { error: { status: Number(fail[1]) } };
  const slow = /^slow-(\d+)$/.exec(model);
  if (slow) return { latencyMs: Number(slow[1]) };
  return {};
}

function errorBody(endpoint: WireEndpoint | null, status: number): unknown {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  const message = `fake upstream error ${status}`;
  if (endpoint === 'messages') return { type: 'error', error: { type, message } };
  return { error: { message, type, code: status === 429 ? 'rate_limit_exceeded' : null, param: null } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (!chunks.length) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export async function startFakeUpstream(initial: FakeScenario = {}): Promise<FakeUpstream> {
  let defaults: FakeScenario = { text: DEFAULT_MOCK_TEXT, ...initial };
  const byModel = new Map<string, FakeScenario>();
  const requests: RecordedRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readJson(req);
    const endpoint = endpointOf(path);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body,
      endpoint,
      aborted: false,
    };
    requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.aborted = true;
    });
    const model = typeof body?.model === 'string' ? body.model : '';
    const header = req.headers['x-fake-scenario'];
    const scenario: FakeScenario = {
      ...defaults,
      ...conventionFor(model),
      ...byModel.get(model),
      ...(typeof header === 'string' ? (JSON.parse(header) as FakeScenario) : {}),
    };
    if (scenario.latencyMs) await sleep(scenario.latencyMs);
    if (res.destroyed) return;
    if (scenario.error || !endpoint || !body) {
      const status = scenario.error?.status ?? 404;
      const payload = scenario.error?.body ?? errorBody(endpoint, status);
      res.writeHead(status, { 'content-type': 'application/json', ...scenario.error?.headers });
      res.end(JSON.stringify(payload));
      return;
    }
    const reply = renderMockReply(endpoint, body, { text: scenario.text ?? DEFAULT_MOCK_TEXT, ...scenario });
    if (!reply.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const frame of reply.frames) {
      if (res.destroyed) return;
      if (!res.write(frame)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      if (scenario.chunkDelayMs) await sleep(scenario.chunkDelayMs);
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err), type: 'fake_upstream_bug' } }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    forModel: (model, scenario) => byModel.set(model, scenario),
    setDefaults: (scenario) => {
      defaults = { text: DEFAULT_MOCK_TEXT, ...scenario };
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
