// A local fake of the Gemini API (Generative Language, v1beta) speaking its real wire format:
// `POST /v1beta/models/{model}:generateContent` (JSON) and `:streamGenerateContent?alt=sse` (SSE frames of
// GenerateContentResponse, `\r\n\r\n`-separated as Google sends them), `x-goog-api-key` auth, Google's error
// envelope `{"error":{"code","message","status"}}`. The reply is scripted; every request is recorded.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GeminiUsage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

export interface GeminiScript {
  /** The candidate's parts (`{text}`, `{text, thought: true}`, `{functionCall: {name, args}}`). */
  parts: Record<string, unknown>[];
  usage: GeminiUsage;
  finishReason: string;
  /** Answer with this HTTP status and Google's error envelope instead. */
  error?: { status: number; message: string; googleStatus: string };
}

export interface GeminiRequest {
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface FakeGemini {
  /** `http://127.0.0.1:<port>`; deployments use `${url}/v1beta` as api_base. */
  url: string;
  apiKey: string;
  requests: GeminiRequest[];
  script(script: Partial<GeminiScript>): void;
  close(): Promise<void>;
}

const DEFAULT_SCRIPT: GeminiScript = {
  parts: [{ text: 'Hello from Gemini.' }],
  usage: { promptTokenCount: 10, candidatesTokenCount: 5 },
  finishReason: 'STOP',
};

function usageMetadata(usage: GeminiUsage) {
  const total =
    usage.promptTokenCount +
    usage.candidatesTokenCount +
    (usage.thoughtsTokenCount ?? 0) +
    (usage.toolUsePromptTokenCount ?? 0);
  return { ...usage, totalTokenCount: total };
}

function sendError(res: ServerResponse, status: number, message: string, googleStatus: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify({ error: { code: status, message, status: googleStatus } }));
}

/** Text parts stream in pieces of a few characters; other parts come whole, as Gemini sends them. */
function streamPieces(parts: Record<string, unknown>[]): Record<string, unknown>[][] {
  const pieces: Record<string, unknown>[][] = [];
  for (const part of parts) {
    if (typeof part.text !== 'string') {
      pieces.push([part]);
      continue;
    }
    for (let i = 0; i < part.text.length; i += 6) pieces.push([{ ...part, text: part.text.slice(i, i + 6) }]);
  }
  return pieces;
}

export async function startFakeGemini(apiKey = 'gemini-test-key'): Promise<FakeGemini> {
  let script = DEFAULT_SCRIPT;
  let served = 0;
  const requests: GeminiRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) return sendError(res, 404, `no route ${url.pathname}`, 'NOT_FOUND');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.', 'INVALID_ARGUMENT');
    }
    requests.push({ path: url.pathname, query: url.search, headers: req.headers, body });
    if (req.headers['x-goog-api-key'] !== apiKey) {
      return sendError(res, 400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT');
    }
    if (script.error) return sendError(res, script.error.status, script.error.message, script.error.googleStatus);
    const model = decodeURIComponent(match[1] ?? '');
    const config = (body.generationConfig ?? {}) as Record<string, unknown>;
    const candidates = typeof config.candidateCount === 'number' ? config.candidateCount : 1;
    const responseId = `gemini-resp-${++served}`;
    const common = { modelVersion: model, responseId };
    if (match[2] === 'generateContent') {
      const answer = {
        candidates: Array.from({ length: candidates }, (_, index) => ({
          content: { role: 'model', parts: script.parts },
          finishReason: script.finishReason,
          index,
        })),
        usageMetadata: usageMetadata(script.usage),
        ...common,
      };
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(answer));
      return;
    }
    if (url.searchParams.get('alt') !== 'sse')
      return sendError(res, 400, 'this fake streams SSE only', 'INVALID_ARGUMENT');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const partial = { promptTokenCount: script.usage.promptTokenCount, totalTokenCount: script.usage.promptTokenCount };
    for (let index = 0; index < candidates; index++) {
      const pieces = streamPieces(script.parts);
      pieces.forEach((parts, i) => {
        const last = index === candidates - 1 && i === pieces.length - 1;
        const candidate = { content: { role: 'model', parts }, index };
        const finished = i === pieces.length - 1 ? { finishReason: script.finishReason } : {};
        const usage = last ? usageMetadata(script.usage) : partial;
        res.write(
          `data: ${JSON.stringify({ candidates: [{ ...candidate, ...finished }], usageMetadata: usage, ...common })}\r\n\r\n`,
        );
      });
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, 500, String(err), 'INTERNAL'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    script(next) {
      script = { ...DEFAULT_SCRIPT, ...next };
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
