// A batch input file (JSONL, one request a line: {custom_id, method, url, body}) checked before it is
// uploaded: every line must be a request this key may make, all to one endpoint and one model served by an
// OpenAI deployment, each with a bounded worst-case cost. The file sent upstream is the same requests with
// the model renamed to the deployment's upstream model. Any bad line is a 400 naming the line and field.

import type { Principal } from '../../auth/principal.js';
import { BATCH_ENDPOINTS, BATCH_TIER, type BatchEndpoint, isBatchEndpoint } from '../../batches/wire.js';
import { AppError } from '../../errors.js';
import { JsonDepthScanner } from '../../http/jsonBody.js';
import { MAX_JSON_DEPTH } from '../../http/jsonLimits.js';
import { TimeSlicer } from '../../ingest/timeSlice.js';
import type { PriceEntry } from '../../pricing/modelPricing.js';
import { readOutputBound, worstCaseOf } from '../call/requestBounds.js';
import { type Deployment, keyMayUse, type ModelRouter } from '../deployments.js';
import { isRecord } from '../exchange/types.js';
import { promptTokenBound } from '../promptSize.js';
import { BATCH_PROVIDERS } from './accounts.js';

/** OpenAI's own limit per batch. */
export const MAX_BATCH_LINES = 50_000;
/** Longest custom_id accepted (OpenAI's ids are short; ours go into every record's metadata). */
export const MAX_CUSTOM_ID = 512;

export interface CheckedInputFile {
  model: string;
  endpoint: BatchEndpoint;
  deployment: Deployment;
  lines: number;
  worstCaseNano: number;
  /** The file as uploaded upstream (models renamed to the deployment's). */
  content: Buffer;
}

const lineError = (line: number, field: string, reason: string) =>
  new AppError('bad_request', `line ${line}: ${field}: ${reason}`, { param: 'file' });

interface FileContext {
  principal: Principal;
  router: ModelRouter;
  now: Date;
}

function parseLine(text: string, n: number): Record<string, unknown> {
  if (new JsonDepthScanner(MAX_JSON_DEPTH).push(Buffer.from(text))) {
    throw lineError(n, '(line)', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw lineError(n, '(line)', 'not JSON');
  }
  if (!isRecord(value)) throw lineError(n, '(line)', 'expected a JSON object');
  return value;
}

function routeModel(model: string, n: number, ctx: FileContext): Deployment {
  const deployment = ctx.router.resolve(model);
  if (!deployment) throw lineError(n, 'body.model', `model ${model} is not served here (GET /v1/models lists them)`);
  if (!keyMayUse(ctx.principal.models, model)) {
    throw new AppError('forbidden', `line ${n}: body.model: this key may not call model ${model}`, { param: 'file' });
  }
  if (!BATCH_PROVIDERS.includes(deployment.provider)) {
    throw lineError(n, 'body.model', `model ${model} is served by ${deployment.provider}; batches go to OpenAI only`);
  }
  return deployment;
}

/** Checks a file line by line, giving the event loop back between slices (a file may hold 50,000 lines). */
export async function checkInputFile(bytes: Buffer, ctx: FileContext): Promise<CheckedInputFile> {
  const slicer = new TimeSlicer();
  const texts = bytes.toString('utf8').split('\n');
  const out: string[] = [];
  const customIds = new Set<string>();
  let first: { model: string; endpoint: BatchEndpoint; deployment: Deployment; prices: PriceEntry | null } | null =
    null;
  let worst = 0;
  for (let i = 0; i < texts.length; i++) {
    await slicer.slice();
    const text = (texts[i] ?? '').replace(/\r$/, '');
    if (!text.trim()) continue;
    const n = i + 1;
    if (out.length >= MAX_BATCH_LINES) throw lineError(n, '(file)', `at most ${MAX_BATCH_LINES} requests per batch`);
    const line = parseLine(text, n);
    const customId = line.custom_id;
    if (typeof customId !== 'string' || !customId || customId.length > MAX_CUSTOM_ID) {
      throw lineError(n, 'custom_id', `expected a string of 1 to ${MAX_CUSTOM_ID} characters`);
    }
    if (customIds.has(customId)) throw lineError(n, 'custom_id', `${JSON.stringify(customId)} is used twice`);
    customIds.add(customId);
    if (line.method !== 'POST') throw lineError(n, 'method', 'expected "POST"');
    if (!isBatchEndpoint(line.url)) {
      throw lineError(n, 'url', `expected one of ${Object.keys(BATCH_ENDPOINTS).join(', ')}`);
    }
    const body = line.body;
    if (!isRecord(body)) throw lineError(n, 'body', 'expected a JSON object');
    if (typeof body.model !== 'string' || !body.model) throw lineError(n, 'body.model', 'required');
    if (body.stream === true) throw lineError(n, 'body.stream', 'batch requests do not stream');
    if (!first) {
      const deployment = routeModel(body.model, n, ctx);
      // The batch prices in force now, looked up once for the whole file.
      const prices = deployment.pricing.at(ctx.now)?.tier(BATCH_TIER) ?? null;
      first = { model: body.model, endpoint: line.url, deployment, prices };
    } else if (line.url !== first.endpoint) throw lineError(n, 'url', `every line must target ${first.endpoint}`);
    else if (body.model !== first.model) throw lineError(n, 'body.model', `every line must name ${first.model}`);
    worst += lineWorstCase(first, body, n);
    if (!Number.isSafeInteger(worst)) throw lineError(n, '(file)', 'the worst-case cost of this file is too large');
    out.push(JSON.stringify({ ...line, body: { ...body, model: first.deployment.upstreamModel } }));
  }
  if (!first) throw new AppError('bad_request', 'file: holds no requests', { param: 'file' });
  const { model, endpoint, deployment } = first;
  return {
    model,
    endpoint,
    deployment,
    lines: out.length,
    worstCaseNano: worst,
    content: Buffer.from(`${out.join('\n')}\n`),
  };
}

function lineWorstCase(
  file: { endpoint: BatchEndpoint; deployment: Deployment; prices: PriceEntry | null },
  body: Record<string, unknown>,
  n: number,
): number {
  const callType = BATCH_ENDPOINTS[file.endpoint];
  try {
    const bound = readOutputBound(callType, body, file.deployment);
    return worstCaseOf(file.prices, promptTokenBound(callType, body), bound);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `line ${n}: body.${err.message}`, { param: 'file' });
    throw err;
  }
}
