// Time windows for the query API: ISO instants, dates (midnight in the query's timezone) and relative
// times (`now`, `-7d`, `-24h`, `-30m`, `-2w`). Relative times are rounded to whole hours — `from` down,
// `to` up — so "the last 7 days" lands on the hourly rollup; a call is never in the future, so rounding
// `now` up to the end of its hour adds nothing but makes the window cacheable and rollup-shaped.
import { badRequest } from '../errors.js';
import { zoneFormatter } from '../zones.js';

const HOUR_MS = 3_600_000;
const UNIT_MS = { m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS, w: 7 * 24 * HOUR_MS } as const;
const RELATIVE = /^-(\d{1,6})([mhdw])$/;
// A date, optionally with a time ("YYYY-MM-DD HH:MM[:SS[.fff]]", LiteLLM's form) and an offset. Without an
// offset the wall-clock time is read in the query's timezone; with one (`Z`, `+02:00`) it is an instant.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;
const EXPECTED = 'expected an ISO time, a date (YYYY-MM-DD), `now` or a relative time like -7d, -24h';

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

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const two = (n: number) => String(n).padStart(2, '0');

/**
 * Why a date/time is impossible, or null. JavaScript's Date rolls `2026-02-30` over to March 2 and reads
 * `24:00` as the next midnight; a spend window built from such a typo would silently be another window.
 */
function calendarProblem(y: number, mo: number, d: number, h: number, mi: number, s: number): string | null {
  if (mo < 1 || mo > 12) return `month ${two(mo)} does not exist`;
  const days = daysInMonth(y, mo);
  if (d < 1 || d > days) return `day ${two(d)} does not exist (${y}-${two(mo)} has ${days} days)`;
  if (h > 23) return `hour ${two(h)} does not exist (00–23)`;
  if (mi > 59) return `minute ${two(mi)} does not exist (00–59)`;
  if (s > 59) return `second ${two(s)} does not exist (00–59)`;
  return null;
}

/** Minutes east of UTC of an offset suffix (`Z`, `+02:00`, `-0530`, `+02`), or null when impossible. */
function offsetMinutes(suffix: string): number | null {
  if (suffix === 'Z') return 0;
  const digits = suffix.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return null;
  return (suffix[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** Parses one window edge to epoch ms; errors name `param` (default: the edge's own name). */
export function parseTime(text: string, edge: TimeEdge, tz: string, nowMs = Date.now(), param: string = edge): number {
  const value = text.trim();
  if (value === 'now') return edge === 'to' ? Math.ceil(nowMs / HOUR_MS) * HOUR_MS : nowMs;
  const rel = RELATIVE.exec(value);
  if (rel) {
    const ms = nowMs - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
    return edge === 'from' ? Math.floor(ms / HOUR_MS) * HOUR_MS : Math.ceil(ms / HOUR_MS) * HOUR_MS;
  }
  const match = DATE_TIME.exec(value);
  if (!match) throw badRequest(param, EXPECTED);
  const [y, mo, d, h = 0, mi = 0, s = 0] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const fraction = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const problem = calendarProblem(y ?? 0, mo ?? 0, d ?? 0, h, mi, s);
  if (problem) throw badRequest(param, `${JSON.stringify(value)} is not a real date/time: ${problem}`);
  // Date.UTC reads years 0–99 as 1900–1999; setUTCFullYear does not (the range check then refuses them).
  const at = new Date(Date.UTC(2000, (mo ?? 1) - 1, d ?? 1, h, mi, s, fraction));
  const wall = at.setUTCFullYear(y ?? 0);
  const suffix = match[8];
  if (suffix === undefined) return zonedToUtc(wall, tz);
  const offset = offsetMinutes(suffix);
  if (offset === null) throw badRequest(param, `${JSON.stringify(value)} has an impossible UTC offset`);
  return wall - offset * 60_000;
}

export interface Window {
  fromMs: number;
  toMs: number;
}

/** Earliest/latest instants the API accepts: DateTime on ClickHouse covers 1970–2105. */
const MIN_MS = 0;
const MAX_MS = Date.UTC(2100, 0, 1);

/** A window's edges must lie in what ClickHouse's DateTime can hold; errors name the edge at fault. */
export function checkWindowRange(window: Window, params: { from: string; to: string } = { from: 'from', to: 'to' }) {
  if (window.fromMs < MIN_MS) throw badRequest(params.from, 'the window must lie between 1970 and 2100');
  if (window.toMs > MAX_MS) throw badRequest(params.to, 'the window must lie between 1970 and 2100');
}

export function parseWindow(from: string, to: string, tz: string, nowMs = Date.now()): Window {
  const window = { fromMs: parseTime(from, 'from', tz, nowMs), toMs: parseTime(to, 'to', tz, nowMs) };
  checkWindowRange(window);
  if (window.toMs <= window.fromMs) throw badRequest('to', '`to` must be after `from`');
  return window;
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
