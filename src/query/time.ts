// Time windows for the query API: ISO instants, dates (midnight in the query's timezone) and relative
// times (`now`, `-7d`, `-24h`, `-30m`, `-2w`). Relative times are rounded to whole hours — `from` down,
// `to` up — so "the last 7 days" lands on the hourly rollup; a call is never in the future, so rounding
// `now` up to the end of its hour adds nothing but makes the window cacheable and rollup-shaped.
import { badRequest } from '../errors.js';
import { zoneFormatter } from '../zones.js';

const HOUR_MS = 3_600_000;
const UNIT_MS = { m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS, w: 7 * 24 * HOUR_MS } as const;
const RELATIVE = /^-(\d{1,6})([mhdw])$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// Date + time without an offset (LiteLLM's "YYYY-MM-DD HH:MM:SS"): read in the query's timezone.
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

const validZones = new Set<string>(['UTC', ...Intl.supportedValuesOf('timeZone')]);

export function checkTimezone(tz: string, param = 'timezone'): string {
  if (!validZones.has(tz)) throw badRequest(param, `unknown IANA timezone ${JSON.stringify(tz).slice(0, 60)}`);
  return tz;
}

/** Offset of `tz` from UTC at instant `ms`, in minutes (east positive). */
export function zoneOffsetMinutes(tz: string, ms: number): number {
  const parts = zoneFormatter(tz).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** The UTC instant of a wall-clock time in `tz` (two passes settle DST edges). */
function zonedToUtc(wallAsUtcMs: number, tz: string): number {
  let guess = wallAsUtcMs - zoneOffsetMinutes(tz, wallAsUtcMs) * 60_000;
  guess = wallAsUtcMs - zoneOffsetMinutes(tz, guess) * 60_000;
  return guess;
}

export type TimeEdge = 'from' | 'to';

/** Parses one window edge to epoch ms. */
export function parseTime(text: string, edge: TimeEdge, tz: string, nowMs = Date.now()): number {
  const value = text.trim();
  if (value === 'now') return edge === 'to' ? Math.ceil(nowMs / HOUR_MS) * HOUR_MS : nowMs;
  const rel = RELATIVE.exec(value);
  if (rel) {
    const ms = nowMs - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
    return edge === 'from' ? Math.floor(ms / HOUR_MS) * HOUR_MS : Math.ceil(ms / HOUR_MS) * HOUR_MS;
  }
  const date = DATE_ONLY.exec(value);
  if (date) return zonedToUtc(Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3])), tz);
  const local = LOCAL_DATETIME.exec(value);
  if (local) {
    const [, y, mo, d, h, mi, s] = local.map(Number) as number[];
    return zonedToUtc(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, Number.isNaN(s) ? 0 : (s ?? 0)), tz);
  }
  if (/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw badRequest(edge, 'expected an ISO time, a date (YYYY-MM-DD), `now` or a relative time like -7d, -24h');
}

export interface Window {
  fromMs: number;
  toMs: number;
}

/** Earliest/latest instants the API accepts: DateTime on ClickHouse covers 1970–2105. */
const MIN_MS = 0;
const MAX_MS = Date.UTC(2100, 0, 1);

export function parseWindow(from: string, to: string, tz: string, nowMs = Date.now()): Window {
  const fromMs = parseTime(from, 'from', tz, nowMs);
  const toMs = parseTime(to, 'to', tz, nowMs);
  if (fromMs < MIN_MS || toMs > MAX_MS) throw badRequest('from', 'the window must lie between 1970 and 2100');
  if (toMs <= fromMs) throw badRequest('to', '`to` must be after `from`');
  return { fromMs, toMs };
}

export const isWholeHour = (ms: number) => ms % HOUR_MS === 0;

/** ISO-8601 with the zone's offset, e.g. 2026-11-02T00:00:00+01:00 — how buckets are labelled. */
export function formatInZone(ms: number, tz: string): string {
  const offset = zoneOffsetMinutes(tz, ms);
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  const sign = offset < 0 ? '-' : '+';
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
