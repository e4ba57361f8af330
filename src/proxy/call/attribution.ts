// Who a call is for, beyond the key: tags (body `tags`, body `metadata.tags`, headers `x-spend-tags` /
// `x-litellm-tags`, plus the key's default tags), the customer (end user) and free-form metadata.
// Bad tags are a 400 naming the offending field: silently dropping them would misattribute spend.
import type { Principal } from '../../auth/principal.js';
import { badRequest } from '../../errors.js';
import { MAX_METADATA_BYTES, MAX_TAG_LENGTH, MAX_TAGS, normalizeTags } from '../../spendRecord.js';
import { isRecord } from '../exchange/types.js';

export interface Attribution {
  tags: string[];
  customerId: string | null;
  metadata: Record<string, string>;
}

type Headers = Record<string, string | string[] | undefined>;

const TAG_HEADERS = ['x-spend-tags', 'x-litellm-tags'];
const CUSTOMER_HEADERS = ['x-litellm-customer-id', 'x-litellm-end-user-id'];
const MAX_ID_LENGTH = 256;

/** Metadata key of a record whose cost exceeded its reservation: the excess in nano-USD (docs/budgets.md). */
export const OVER_RESERVATION_KEY = 'over_reservation_nano';

function checkTag(tag: unknown, param: string): string {
  if (typeof tag !== 'string') throw badRequest(param, 'tags must be strings');
  const trimmed = tag.trim();
  if (!trimmed) throw badRequest(param, 'tags must not be empty');
  if (trimmed.length > MAX_TAG_LENGTH) throw badRequest(param, `tags must be at most ${MAX_TAG_LENGTH} characters`);
  return trimmed;
}

function tagList(value: unknown, param: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(param, 'must be an array of strings');
  return value.map((tag, i) => checkTag(tag, `${param}[${i}]`));
}

function headerValues(headers: Headers, name: string): string[] {
  const value = headers[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function readTags(headers: Headers, body: Record<string, unknown>, principal: Principal): string[] {
  const tags = [...tagList(body.tags, 'tags')];
  if (isRecord(body.metadata)) tags.push(...tagList(body.metadata.tags, 'metadata.tags'));
  for (const name of TAG_HEADERS) {
    for (const value of headerValues(headers, name)) {
      for (const tag of value.split(',')) if (tag.trim()) tags.push(checkTag(tag, name));
    }
  }
  const merged = normalizeTags([...tags, ...principal.tags]);
  if (merged.length > MAX_TAGS)
    throw badRequest('tags', `at most ${MAX_TAGS} distinct tags per call (got ${merged.length})`);
  return merged;
}

function readCustomer(headers: Headers, body: Record<string, unknown>): string | null {
  let param = 'user';
  let customer: unknown = body.user;
  for (const name of [...CUSTOMER_HEADERS].reverse()) {
    const value = headerValues(headers, name)[0];
    if (value?.trim()) {
      customer = value.trim();
      param = name;
    }
  }
  // Anthropic clients name the end user in metadata.user_id.
  if (customer === undefined && isRecord(body.metadata) && typeof body.metadata.user_id === 'string') {
    customer = body.metadata.user_id;
    param = 'metadata.user_id';
  }
  if (customer === undefined || customer === null || customer === '') return null;
  if (typeof customer !== 'string') throw badRequest(param, 'must be a string');
  if (customer.length > MAX_ID_LENGTH) throw badRequest(param, `must be at most ${MAX_ID_LENGTH} characters`);
  return customer;
}

function readMetadata(body: Record<string, unknown>, principal: Principal): Record<string, string> {
  const metadata: Record<string, string> = { ...principal.metadata };
  if (body.metadata !== undefined && body.metadata !== null && !isRecord(body.metadata)) {
    throw badRequest('metadata', 'must be an object');
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(isRecord(body.metadata) ? body.metadata : {})) {
    if (key === 'tags' || value === undefined || value === null) continue;
    if (key === OVER_RESERVATION_KEY) throw badRequest(`metadata.${key}`, 'is set by Spendhouse, not by the caller');
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(text);
    if (bytes > MAX_METADATA_BYTES) throw badRequest('metadata', `must be at most ${MAX_METADATA_BYTES} bytes`);
    metadata[key] = text;
  }
  return metadata;
}

export function readAttribution(headers: Headers, body: Record<string, unknown>, principal: Principal): Attribution {
  return {
    tags: readTags(headers, body, principal),
    customerId: readCustomer(headers, body),
    metadata: readMetadata(body, principal),
  };
}
