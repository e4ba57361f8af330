// Where a budget is heading: its projected spend at the period's end and the instant it runs out, from the
// scope's daily spend with weekday seasonality (docs/finops.md, "Forecasts"). Pure: the caller brings the
// history (complete local days before today) and the spend so far.
//
// Method `weekday_seasonal` (≥ 14 days of history): a day's expected spend is the mean of the last 7
// complete days × that weekday's factor — the weekday's mean over the history ÷ the history's mean — so a
// team that spends on weekdays only is not projected to spend on Saturdays. `flat_mean` (1–13 days): the
// mean of the last 7 (or fewer) days, every day alike. `today_rate` (no history): today's spend so far over
// the elapsed part of today. `period_rate` (periods shorter than a day): the current period's spend rate.
// Within a day, spend is spread evenly. A forecast is an estimate: rounded to whole nano-USD at the end.
import { type Period, periodAt } from '../../periods.js';
import { zoneFormatter } from '../../zones.js';

export interface DailySpend {
  /** Local midnight starting the day. */
  dayStartMs: number;
  costNano: number;
}

export interface ForecastInput {
  spentNano: number;
  maxNano: number | null;
  period: Period;
  nowMs: number;
  timeZone: string;
  /** Complete local days before today, oldest first (days without calls may be absent). */
  history: readonly DailySpend[];
  /** Spend so far today (local day). */
  todayNano: number;
}

export type ForecastMethod = 'weekday_seasonal' | 'flat_mean' | 'today_rate' | 'period_rate';

export interface BudgetForecast {
  method: ForecastMethod;
  /** Expected spend of an average day (nano-USD). */
  daily_rate_nano: number;
  /** Projected spend when the period ends; null for a lifetime budget. */
  period_end_spend_nano: number | null;
  /** ISO instant the projected spend reaches the max budget; null when it does not (before the period ends). */
  runs_out_at: string | null;
  /** The projection passes the max budget before the period ends (or has already). */
  exceeds_budget: boolean;
}

/** Days of history the forecast reads; seasonality needs two of each weekday. */
export const HISTORY_DAYS = 28;
const SEASONAL_MIN_DAYS = 14;
const RECENT_DAYS = 7;
const DAY_MS = 86_400_000;
/** A lifetime budget's run-out is looked for this far ahead. */
const LIFETIME_HORIZON_DAYS = 366;
const ONE_DAY = { text: '1d', count: 1, unit: 'd' } as const;

/** The local day containing `ms`. */
export function localDay(ms: number, timeZone: string): Period & { end: Date } {
  const day = periodAt(ONE_DAY, new Date(ms), timeZone);
  return { start: day.start, end: day.end ?? new Date(day.start.getTime() + DAY_MS) };
}

/** The days a forecast reads: from local midnight HISTORY_DAYS days before today to the end of today. */
export function historyWindow(nowMs: number, timeZone: string): { fromMs: number; today: Period & { end: Date } } {
  const today = localDay(nowMs, timeZone);
  let fromMs = today.start.getTime();
  for (let i = 0; i < HISTORY_DAYS; i++) fromMs = localDay(fromMs - 1, timeZone).start.getTime();
  return { fromMs, today };
}

function weekday(ms: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = Number(p.value);
  return new Date(Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1)).getUTCDay();
}

interface DayModel {
  method: ForecastMethod;
  rate: number;
  /** Expected spend of the local day starting at `dayStartMs`. */
  expected(dayStartMs: number): number;
}

function dayModel(input: ForecastInput, today: Period & { end: Date }): DayModel {
  const { timeZone } = input;
  // The history as a dense list of the last HISTORY_DAYS complete days (absent days spent 0).
  const byDay = new Map(input.history.map((d) => [d.dayStartMs, d.costNano]));
  const days: { start: number; cost: number }[] = [];
  let cursor = today.start.getTime();
  const earliest = input.history[0]?.dayStartMs ?? cursor;
  while (days.length < HISTORY_DAYS) {
    const previous = localDay(cursor - 1, timeZone);
    if (previous.start.getTime() < earliest) break;
    cursor = previous.start.getTime();
    days.unshift({ start: cursor, cost: byDay.get(cursor) ?? 0 });
  }
  if (days.length === 0) {
    const elapsed = input.nowMs - today.start.getTime();
    const dayLength = today.end.getTime() - today.start.getTime();
    const rate = elapsed > 0 ? (input.todayNano / elapsed) * dayLength : 0;
    return { method: 'today_rate', rate, expected: () => rate };
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const rate = mean(days.slice(-RECENT_DAYS).map((d) => d.cost));
  const overall = mean(days.map((d) => d.cost));
  if (days.length < SEASONAL_MIN_DAYS || overall === 0) return { method: 'flat_mean', rate, expected: () => rate };
  const weekdays = days.map((d) => weekday(d.start, timeZone));
  const factor = Array.from({ length: 7 }, (_, w) => {
    const same = days.filter((_, i) => weekdays[i] === w).map((d) => d.cost);
    return same.length ? mean(same) / overall : 1;
  });
  return {
    method: 'weekday_seasonal',
    rate,
    expected: (dayStartMs) => rate * (factor[weekday(dayStartMs, timeZone)] ?? 1),
  };
}

/** Periods shorter than a day: the period's own spend rate so far. */
function periodRateForecast(input: ForecastInput, end: number): BudgetForecast {
  const start = input.period.start.getTime();
  const elapsed = Math.max(1, input.nowMs - start);
  const perMs = input.spentNano / elapsed;
  const projected = input.spentNano + perMs * (end - input.nowMs);
  let runsOut: number | null = null;
  if (input.maxNano !== null) {
    if (input.spentNano >= input.maxNano) runsOut = input.nowMs;
    else if (perMs > 0 && projected >= input.maxNano) runsOut = input.nowMs + (input.maxNano - input.spentNano) / perMs;
  }
  return finish('period_rate', perMs * DAY_MS, Math.round(projected), runsOut);
}

function finish(
  method: ForecastMethod,
  rate: number,
  periodEnd: number | null,
  runsOut: number | null,
): BudgetForecast {
  return {
    method,
    daily_rate_nano: Math.round(rate),
    period_end_spend_nano: periodEnd,
    runs_out_at: runsOut === null ? null : new Date(Math.ceil(runsOut)).toISOString(),
    exceeds_budget: runsOut !== null,
  };
}

export function forecastBudget(input: ForecastInput): BudgetForecast {
  const periodEnd = input.period.end?.getTime() ?? null;
  if (periodEnd !== null && periodEnd - input.period.start.getTime() < DAY_MS) {
    return periodRateForecast(input, periodEnd);
  }
  const today = localDay(input.nowMs, input.timeZone);
  const model = dayModel(input, today);
  const horizon = periodEnd ?? input.nowMs + LIFETIME_HORIZON_DAYS * DAY_MS;
  let cumulative = input.spentNano;
  let runsOut: number | null = input.maxNano !== null && cumulative >= input.maxNano ? input.nowMs : null;
  // Walk the rest of today, then whole days, to the period's end (or the horizon).
  let segmentStart = input.nowMs;
  let day = today;
  // A lifetime budget stops at its run-out; nothing to walk when nothing is spent.
  const walking = () => segmentStart < horizon && model.rate > 0 && !(periodEnd === null && runsOut !== null);
  while (walking()) {
    const dayStart = day.start.getTime();
    const dayLength = day.end.getTime() - dayStart;
    const segmentEnd = Math.min(day.end.getTime(), horizon);
    const perMs = model.expected(dayStart) / dayLength;
    const added = perMs * (segmentEnd - segmentStart);
    if (runsOut === null && input.maxNano !== null && perMs > 0 && cumulative + added >= input.maxNano) {
      runsOut = segmentStart + (input.maxNano - cumulative) / perMs;
    }
    cumulative += added;
    segmentStart = segmentEnd;
    day = localDay(day.end.getTime(), input.timeZone);
  }
  return finish(model.method, model.rate, periodEnd === null ? null : Math.round(cumulative), runsOut);
}
