// Asking both servers one question and recording where their answers differ. Answers are compared exactly
// (node's deepStrictEqual on the parsed JSON, or the text of a CSV): no rounding, no reordering.
import { isDeepStrictEqual } from 'node:util';
import type { Family, Question } from './queryMatrix.js';
import { CALLER_HEADER, type ServerPair, type Side } from './servers.js';

export interface Answer {
  status: number;
  body: unknown;
}

export async function ask(side: Side, q: Question): Promise<Answer> {
  const res = await side.app.inject({
    method: q.method,
    url: q.url,
    headers: { [CALLER_HEADER]: q.caller },
    ...(q.body ? { payload: q.body } : {}),
  });
  const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
  return { status: res.statusCode, body: json ? res.json() : res.body };
}

export interface Difference {
  what: string;
  old: unknown;
  current: unknown;
}

/** Tallies questions per family and collects differences; `report()` is the suite's diagnostic. */
export class Comparison {
  readonly counts = new Map<string, number>();
  readonly differences: Difference[] = [];
  /** Milliseconds each server spent answering (the two are asked at once). */
  readonly busyMs = { old: 0, current: 0 };

  constructor(private readonly pair: ServerPair) {}

  /** Records one compared answer; true when both servers gave the same. */
  same(family: string, what: string, old: unknown, current: unknown): boolean {
    this.counts.set(family, (this.counts.get(family) ?? 0) + 1);
    if (isDeepStrictEqual(old, current)) return true;
    this.differences.push({ what: `[${family}] ${what}`, old, current });
    return false;
  }

  /** Asks both servers `q`; returns both answers (equal or not: the caller may follow up on them). */
  async question(q: Question, family: Family = q.family): Promise<[Answer, Answer]> {
    const [old, current] = await Promise.all([this.timed('old', q), this.timed('current', q)]);
    this.same(family, `${q.method} ${q.url} ${q.body ? JSON.stringify(q.body) : ''} as ${q.caller}`, old, current);
    return [old, current];
  }

  private async timed(side: 'old' | 'current', q: Question): Promise<Answer> {
    const started = performance.now();
    try {
      return await ask(this.pair[side], q);
    } finally {
      this.busyMs[side] += performance.now() - started;
    }
  }

  /** Fails with the differences recorded since `since` (an earlier `differences.length`), if any. */
  assertNoneSince(since: number): void {
    const found = this.differences.slice(since);
    if (found.length) throw new Error(`${found.length} answers differ:\n${describe(found)}`);
  }

  report(): string {
    const lines = [...this.counts].map(([family, n]) => `${family}: ${n}`);
    const total = [...this.counts.values()].reduce((s, n) => s + n, 0);
    const busy = `HTTP questions answered in ${Math.round(this.busyMs.old)} ms (18.16) and ${Math.round(this.busyMs.current)} ms (current)`;
    return `${total} answers compared (${lines.join(', ')}); ${this.differences.length} differ; ${busy}`;
  }
}

const cut = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 600);

/** The path of the first place two JSON values differ, with the values there. */
export function firstDifference(
  old: unknown,
  current: unknown,
  path = '',
): { path: string; old: unknown; current: unknown } {
  if (isDeepStrictEqual(old, current)) return { path, old, current };
  if (old && current && typeof old === 'object' && typeof current === 'object') {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(current)])];
    for (const key of keys) {
      const a = (old as Record<string, unknown>)[key];
      const b = (current as Record<string, unknown>)[key];
      if (!isDeepStrictEqual(a, b)) return firstDifference(a, b, `${path}.${key}`);
    }
  }
  return { path, old, current };
}

/** The first differences, readable: what was asked and where the two answers part. */
function describe(differences: readonly Difference[], limit = 12): string {
  return differences
    .slice(0, limit)
    .map((d) => {
      const at = firstDifference(d.old, d.current);
      return `${d.what}\n  at ${at.path || '(top)'}: 18.16 ${cut(at.old)} · current ${cut(at.current)}`;
    })
    .join('\n');
}
