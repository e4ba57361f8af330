// AWS Bedrock Runtime: where a `bedrock/<modelId>` deployment's calls go and how they are signed. The region
// and credentials come from litellm_params (`aws_region_name`, `aws_access_key_id`, `aws_secret_access_key`,
// `aws_session_token`, LiteLLM's names) or else from the standard AWS environment variables, which every AWS
// SDK reads (AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) —
// the one environment read outside src/config/load.ts, so an AWS deployment is configured the AWS way.
// Requests are signed with SigV4 by the AWS SDK's own signer; ConverseStream answers in the binary AWS
// event stream, which `sseFromEventStream` re-frames as server-sent events for the relay.
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AppError } from '../../errors.js';
import type { HttpTarget } from '../upstream.js';

export interface AwsSettings {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | null;
}

export interface AwsParams {
  aws_region_name?: string;
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  aws_session_token?: string;
}

/** Settings from params then the AWS env; a list of the fields still missing (named as config paths). */
export function resolveAwsSettings(
  params: AwsParams,
  env: Record<string, string | undefined> = process.env,
): AwsSettings | { missing: string[] } {
  const region = params.aws_region_name ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION);
  // Keys come as a pair: a key id from the params never combines with a secret from the environment.
  const fromParams = params.aws_access_key_id !== undefined || params.aws_secret_access_key !== undefined;
  const accessKeyId = fromParams ? params.aws_access_key_id : env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = fromParams ? params.aws_secret_access_key : env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = (fromParams ? params.aws_session_token : env.AWS_SESSION_TOKEN) || null;
  const missing: string[] = [];
  if (!region) missing.push('aws_region_name (or AWS_REGION)');
  if (!accessKeyId) missing.push('aws_access_key_id (or AWS_ACCESS_KEY_ID)');
  if (!secretAccessKey) missing.push('aws_secret_access_key (or AWS_SECRET_ACCESS_KEY)');
  if (!region || !accessKeyId || !secretAccessKey) return { missing };
  return { region, accessKeyId, secretAccessKey, sessionToken };
}

/** The AWS SDK for Node's SHA-256 (HMAC when given a secret), as its own clients configure the signer. */
const Sha256 = Hash.bind(null, 'sha256');

export const bedrockApiBase = (region: string) => `https://bedrock-runtime.${region}.amazonaws.com`;

/** The signed request for Converse (`/converse`) or ConverseStream (`/converse-stream`). */
export async function signedBedrockTarget(
  apiBase: string,
  modelId: string,
  aws: AwsSettings,
  stream: boolean,
  payload: string,
): Promise<HttpTarget> {
  const url = new URL(`${apiBase}/model/${encodeURIComponent(modelId)}/${stream ? 'converse-stream' : 'converse'}`);
  const signer = new SignatureV4({
    service: 'bedrock',
    region: aws.region,
    credentials: {
      accessKeyId: aws.accessKeyId,
      secretAccessKey: aws.secretAccessKey,
      ...(aws.sessionToken ? { sessionToken: aws.sessionToken } : {}),
    },
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    // The upstream client sends exactly this content type; `host` is signed and set by the HTTP client.
    headers: { host: url.host, 'content-type': 'application/json' },
    body: payload,
  });
  const signed = await signer.sign(request);
  const { host: _host, ...headers } = signed.headers;
  return { url: url.toString(), headers };
}

const utf8Decoder = new TextDecoder();
const codec = () =>
  new EventStreamCodec(
    (bytes) => utf8Decoder.decode(bytes),
    (text) => new TextEncoder().encode(text),
  );

function headerString(headers: Record<string, { type: string; value: unknown }>, name: string): string | null {
  const header = headers[name];
  return header && typeof header.value === 'string' ? header.value : null;
}

const malformed = (cause?: unknown) =>
  new AppError('upstream_error', 'the model provider sent a malformed event stream', { type: 'api_error', cause });

/** Splits raw bytes into whole event-stream messages: each starts with its total length (uint32, big-endian). */
class MessageSplitter {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const messages: Uint8Array[] = [];
    let offset = 0;
    while (joined.length - offset >= 4) {
      const length = new DataView(joined.buffer, joined.byteOffset + offset, 4).getUint32(0);
      if (length < 16) throw malformed();
      if (joined.length - offset < length) break;
      messages.push(joined.subarray(offset, offset + length));
      offset += length;
    }
    this.buffer = joined.slice(offset);
    return messages;
  }
}

/**
 * Re-frames ConverseStream's binary event stream as server-sent events, so the relay reads Bedrock like any
 * SSE provider: an event `contentBlockDelta` with JSON `{…}` becomes `event: contentBlockDelta\ndata: {…}`.
 * A modelled exception (`:message-type: exception`, e.g. throttlingException) becomes `event: error` with
 * `{"type":"throttlingException","message":"…"}`; so does a protocol-level `:message-type: error`. Each
 * message's CRCs are checked by the AWS SDK's codec.
 */
export async function* sseFromEventStream(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = codec();
  const splitter = new MessageSplitter();
  for await (const chunk of body) {
    const frames: string[] = [];
    for (const bytes of splitter.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)) {
      let message: ReturnType<typeof decoder.decode>;
      try {
        message = decoder.decode(bytes);
      } catch (err) {
        throw malformed(err);
      }
      const type = headerString(message.headers, ':message-type');
      const payload = utf8Decoder.decode(message.body);
      if (type === 'event') {
        const name = headerString(message.headers, ':event-type') ?? 'unknown';
        frames.push(`event: ${name}\ndata: ${payload || '{}'}\n\n`);
      } else {
        const kind =
          headerString(message.headers, ':exception-type') ?? headerString(message.headers, ':error-code') ?? 'error';
        let text = headerString(message.headers, ':error-message') ?? payload;
        try {
          const parsed: unknown = JSON.parse(payload);
          if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) text = String(parsed.message);
        } catch {
          // Not JSON: the payload (or :error-message) is the message.
        }
        frames.push(`event: error\ndata: ${JSON.stringify({ type: kind, message: text })}\n\n`);
      }
    }
    if (frames.length) yield frames.join('');
  }
}
