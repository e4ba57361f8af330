// A local fake of AWS Bedrock Runtime speaking its real wire format: `POST /model/{modelId}/converse` (JSON)
// and `/converse-stream` (the binary AWS event stream, `application/vnd.amazon.eventstream`, encoded with the
// AWS SDK's own codec), AWS errors (`x-amzn-errortype` + `{"message"}`), `x-amzn-requestid` on every answer.
// It VERIFIES each request's SigV4 signature: the signature is recomputed with the AWS SDK's signer from
// the received method, path, signed headers and body bytes, and a mismatch is a 403 as AWS answers it.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface BedrockUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export interface BedrockScript {
  /** Converse content blocks of the answer (`{text}`, `{toolUse: {toolUseId, name, input}}`). */
  content: Record<string, unknown>[];
  stopReason: string;
  usage: BedrockUsage;
  /** Answer with this status and AWS error instead. */
  error?: { status: number; type: string; message: string };
  /** ConverseStream: after the first content delta, end with this modelled exception. */
  streamException?: { type: string; message: string };
}

export interface BedrockRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** The signature, region and service the fake recomputed and compared. */
  signature: { valid: boolean; region: string; service: string; accessKeyId: string };
}

export interface FakeBedrock {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  requests: BedrockRequest[];
  script(script: Partial<BedrockScript>): void;
  close(): Promise<void>;
}

const DEFAULT_SCRIPT: BedrockScript = {
  content: [{ text: 'Hello from Bedrock.' }],
  stopReason: 'end_turn',
  usage: { inputTokens: 10, outputTokens: 5 },
};

const Sha256 = Hash.bind(null, 'sha256');
const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** `20261207T152233Z` → Date. */
function amzDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

async function verifySignature(
  req: IncomingMessage,
  body: Buffer,
  credentials: FakeBedrock['credentials'],
): Promise<BedrockRequest['signature']> {
  const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
  const m = AUTHORIZATION.exec(auth);
  const date = amzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!m || !date) return { valid: false, region: '', service: '', accessKeyId: '' };
  const [, accessKeyId = '', , region = '', service = '', signedHeaders = ''] = m;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
  }
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const signer = new SignatureV4({
    service,
    region,
    credentials: {
      accessKeyId,
      secretAccessKey: accessKeyId === credentials.accessKeyId ? credentials.secretAccessKey : 'unknown',
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: req.method ?? 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    body: new Uint8Array(body),
  });
  const signed = await signer.sign(request, { signingDate: date });
  const valid = signed.headers.authorization === auth && accessKeyId === credentials.accessKeyId;
  const tokenOk = !credentials.sessionToken || req.headers['x-amz-security-token'] === credentials.sessionToken;
  return { valid: valid && tokenOk, region, service, accessKeyId };
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-requestid': `req-error-${status}`,
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
  res.end(JSON.stringify({ message }));
}

function frame(eventType: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    // Bedrock pads every event with a `p` field of random length so sizes do not leak content.
    body: new TextEncoder().encode(JSON.stringify({ ...(payload as object), p: 'abcdefgh' })),
  });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: new TextEncoder().encode(JSON.stringify({ message })),
  });
}

function usageBody(usage: BedrockUsage) {
  const total =
    usage.inputTokens + usage.outputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0);
  return { ...usage, totalTokens: total };
}

/** ConverseStream frames for a scripted answer: text in small deltas, tool input JSON in two halves. */
function streamFrames(script: BedrockScript): Uint8Array[] {
  const frames = [frame('messageStart', { role: 'assistant' })];
  script.content.forEach((block, index) => {
    if (typeof block.text === 'string') {
      for (let i = 0; i < block.text.length; i += 6) {
        frames.push(
          frame('contentBlockDelta', { contentBlockIndex: index, delta: { text: block.text.slice(i, i + 6) } }),
        );
        if (script.streamException) {
          frames.push(exceptionFrame(script.streamException.type, script.streamException.message));
          return;
        }
      }
    } else if (block.toolUse && typeof block.toolUse === 'object') {
      const { toolUseId, name, input } = block.toolUse as Record<string, unknown>;
      frames.push(frame('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId, name } } }));
      const json = JSON.stringify(input);
      const half = Math.floor(json.length / 2);
      for (const part of [json.slice(0, half), json.slice(half)]) {
        frames.push(frame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: part } } }));
      }
    }
    frames.push(frame('contentBlockStop', { contentBlockIndex: index }));
  });
  if (script.streamException) return frames;
  frames.push(frame('messageStop', { stopReason: script.stopReason }));
  frames.push(frame('metadata', { usage: usageBody(script.usage), metrics: { latencyMs: 12 } }));
  return frames;
}

export async function startFakeBedrock(
  credentials: FakeBedrock['credentials'] = { accessKeyId: 'AKIDFAKEBEDROCK', secretAccessKey: 'fake-secret-key' },
): Promise<FakeBedrock> {
  let script = DEFAULT_SCRIPT;
  let served = 0;
  const requests: BedrockRequest[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) return sendError(res, 404, 'UnknownOperationException', 'no such operation');
    const signature = await verifySignature(req, raw, credentials);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'SerializationException', 'the body is not JSON');
    }
    requests.push({ path: url.pathname, headers: req.headers, body, signature });
    if (!signature.valid) {
      return sendError(
        res,
        403,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    if (script.error) return sendError(res, script.error.status, script.error.type, script.error.message);
    const requestId = `bedrock-req-${++served}`;
    if (match[2] === 'converse') {
      const answer = {
        output: { message: { role: 'assistant', content: script.content } },
        stopReason: script.stopReason,
        usage: usageBody(script.usage),
        metrics: { latencyMs: 12 },
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
      res.end(JSON.stringify(answer));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': requestId });
    // Frames are written in uneven groups so a reader must reassemble messages split across chunks.
    const bytes = Buffer.concat(streamFrames(script));
    for (let i = 0; i < bytes.length; i += 37) res.write(bytes.subarray(i, i + 37));
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(res, 500, 'InternalServerException', String(err)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    credentials,
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
