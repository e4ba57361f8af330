// Query-string parameters shared by the LiteLLM-compatible endpoints, read the way LiteLLM reads them:
// `start_date` / `end_date` as YYYY-MM-DD (end day inclusive) or "YYYY-MM-DD HH:MM:SS" (exact), UTC;
// `api_key` as the key's hash or the secret itself (hashed here, as LiteLLM does for `sk-…`).
import { z } from 'zod';
import { hashKey } from '../../auth/principal.js';
import { badRequest } from '../../errors.js';
import { checkWindowRange, parseTime, type Window } from '../time.js';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export const optionalText = z.string().max(512).optional();
export const csvList = z
  .string()
  .max(10_000)
  .optional()
  .transform((v) =>
    v === undefined
      ? undefined
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  );

/** LiteLLM window: both ends required unless `defaults` are given; a date-only end includes that day. */
export function litellmWindow(
  startDate: string | undefined,
  endDate: string | undefined,
  defaults?: { from: string; to: string },
): Window {
  const start = startDate ?? defaults?.from;
  const end = endDate ?? defaults?.to;
  if (start === undefined) throw badRequest('start_date', 'start_date is required (YYYY-MM-DD)');
  if (end === undefined) throw badRequest('end_date', 'end_date is required (YYYY-MM-DD)');
  const nowMs = Date.now();
  const fromMs = parseTime(start, 'from', 'UTC', nowMs, 'start_date');
  const endMs = parseTime(end, 'to', 'UTC', nowMs, 'end_date');
  const window = { fromMs, toMs: DATE_ONLY.test(end.trim()) ? endMs + DAY_MS : endMs };
  checkWindowRange(window, { from: 'start_date', to: 'end_date' });
  if (window.toMs <= fromMs) throw badRequest('end_date', 'end_date must not be before start_date');
  return window;
}

/** A key as LiteLLM callers pass it: the stored hash, or the secret (`sk-…`) which we hash. */
export function keyHashParam(value: string): string {
  return /^[0-9a-f]{64}$/.test(value) ? value : hashKey(value);
}

/** Nano-USD → LiteLLM's float dollars (exact decimal string parsed once, at the edge). */
export const usdFloat = (nano: number | string | bigint | undefined) => Number(BigInt(nano ?? 0)) / 1e9;

export const dateOf = (isoBucket: string) => isoBucket.slice(0, 10);
