// Budget periods. A `budget_duration` never schedules a reset job: the period that contains an instant is
// computed from the instant alone, and its start is part of the Redis counter key, so spend of a new period
// starts at 0 exactly on time on every instance (docs/budgets.md, "Reset rule").
//   - seconds/minutes/hours below a day: fixed windows aligned to multiples of the length since the Unix epoch
//   - `1d` (or `24h`): calendar days from midnight in the configured time zone; `Nd`: N-day blocks counted
//     from 1970-01-01 (local dates)
//   - `7d` / `1w`: ISO weeks from Monday 00:00 local; `Nw`: N-week blocks
//   - `30d` / `1mo`: calendar months from the 1st 00:00 local; `Nmo`: N-month blocks counted from 1970-01
// `7d` → week and `30d` → month follow LiteLLM's standardized reset times.
import { zoneFormatter } from './zones.js';

export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo';

export interface BudgetDuration {
  text: string;
  count: number;
  unit: DurationUnit;
}

export interface Period {
  /** Inclusive start. The epoch (0) for lifetime budgets. */
  start: Date;
  /** Exclusive end; null for budgets without a duration. */
  end: Date | null;
}

export const LIFETIME: Period = { start: new Date(0), end: null };

const DURATION = /^(\d{1,6})(s|m|h|d|w|mo)$/;
const UNIT_SECONDS: Record<'s' | 'm' | 'h', number> = { s: 1, m: 60, h: 3600 };
const DAY_MS = 86_400_000;
/** 1970-01-05 was the first Monday after the epoch (day index 4). */
const FIRST_MONDAY = 4;

export function parseDuration(text: string): BudgetDuration | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const count = Number(match[1]);
  if (count <= 0) return null;
  return { text: text.trim(), count, unit: match[2] as DurationUnit };
}

/** Throws RangeError for an unknown zone: the budgets plugin calls it at boot. */
export function assertTimeZone(timeZone: string): void {
  zoneFormatter(timeZone);
}

/** The wall-clock fields of `at` in `timeZone`, as if they were UTC (so Date.UTC arithmetic works). */
function wallClockMs(at: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(new Date(at))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour, parts.minute, parts.second);
}

/** Days since 1970-01-01 of the local calendar date of `at`. */
function localDayIndex(at: number, timeZone: string): number {
  return Math.floor(wallClockMs(at, timeZone) / DAY_MS);
}

/** The instant of local midnight starting day `dayIndex` (DST-safe: re-checks the offset at the result). */
function localMidnight(dayIndex: number, timeZone: string): Date {
  const wall = dayIndex * DAY_MS;
  const offset = wallClockMs(wall, timeZone) - wall;
  let instant = wall - offset;
  const offsetThere = wallClockMs(instant, timeZone) - instant;
  if (offsetThere !== offset) instant = wall - offsetThere;
  return new Date(instant);
}

function monthStart(monthIndex: number, timeZone: string): Date {
  const dayIndex = Math.floor(Date.UTC(1970 + Math.floor(monthIndex / 12), monthIndex % 12, 1) / DAY_MS);
  return localMidnight(dayIndex, timeZone);
}

/** The period of `duration` containing `at`. */
export function periodAt(duration: BudgetDuration, at: Date, timeZone: string): Period {
  const ms = at.getTime();
  let { count, unit } = duration;
  if (unit === 'h' && count % 24 === 0) [count, unit] = [count / 24, 'd'];
  if (unit === 'd' && count === 7) [count, unit] = [1, 'w'];
  if (unit === 'd' && count === 30) [count, unit] = [1, 'mo'];
  switch (unit) {
    case 's':
    case 'm':
    case 'h': {
      const length = count * UNIT_SECONDS[unit] * 1000;
      const start = Math.floor(ms / length) * length;
      return { start: new Date(start), end: new Date(start + length) };
    }
    case 'd': {
      const first = Math.floor(localDayIndex(ms, timeZone) / count) * count;
      return { start: localMidnight(first, timeZone), end: localMidnight(first + count, timeZone) };
    }
    case 'w': {
      const week = Math.floor((localDayIndex(ms, timeZone) - FIRST_MONDAY) / 7);
      const first = Math.floor(week / count) * count;
      const day = FIRST_MONDAY + first * 7;
      return { start: localMidnight(day, timeZone), end: localMidnight(day + count * 7, timeZone) };
    }
    case 'mo': {
      const wall = new Date(wallClockMs(ms, timeZone));
      const month = (wall.getUTCFullYear() - 1970) * 12 + wall.getUTCMonth();
      const first = Math.floor(month / count) * count;
      return { start: monthStart(first, timeZone), end: monthStart(first + count, timeZone) };
    }
  }
}

/**
 * The latest period computed per duration and zone. Every call checks its budgets' periods, and a local-time
 * period costs several Intl formatToParts calls (≈ 20 µs of CPU per scope per call, measured); the period
 * that contains one instant contains every instant up to its end, so it is computed once per period.
 */
const latestPeriods = new Map<string, Period>();
const MAX_LATEST_PERIODS = 1000;

/** The period for an optional duration string (null = lifetime budget). Shared: callers must not mutate it. */
export function periodFor(durationText: string | null, at: Date, timeZone: string): Period {
  if (!durationText) return LIFETIME;
  const memoKey = `${durationText}\n${timeZone}`;
  const ms = at.getTime();
  const latest = latestPeriods.get(memoKey);
  if (latest?.end && latest.start.getTime() <= ms && ms < latest.end.getTime()) return latest;
  const duration = parseDuration(durationText);
  if (!duration) return LIFETIME;
  const period = periodAt(duration, at, timeZone);
  if (latestPeriods.size >= MAX_LATEST_PERIODS) latestPeriods.clear();
  latestPeriods.set(memoKey, period);
  return period;
}

/** `2026-12-01T00:00:00Z` — the form used in refusal messages. */
export function isoSeconds(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

const FIXED_MS: Record<Exclude<DurationUnit, 'mo'>, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

/** `at` plus a duration (key expiry, grace periods); months are calendar months in UTC. */
export function addDuration(at: Date, durationText: string): Date {
  const d = parseDuration(durationText);
  if (!d) throw new RangeError(`not a duration: ${durationText}`);
  if (d.unit !== 'mo') return new Date(at.getTime() + d.count * FIXED_MS[d.unit]);
  const next = new Date(at);
  next.setUTCMonth(next.getUTCMonth() + d.count);
  return next;
}
