// Cost over time with uPlot (≈ 20 KB gzipped, canvas-drawn, fast at thousands of points). Empty buckets
// between the first and last are filled with zero for hour/day grains so gaps read as "no spend".
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { usd } from '../format.js';
import type { Granularity, QueryRow } from './spendApi.js';

const STEP_S: Partial<Record<Granularity, number>> = { hour: 3600, day: 86400 };

export function chartSeries(
  rows: QueryRow[],
  granularity: Granularity,
  fromIso: string,
  toIso: string,
): [number[], number[]] {
  const points = new Map<number, number>();
  for (const row of rows) {
    if (!row.bucket) continue;
    points.set(Math.floor(Date.parse(row.bucket) / 1000), Number(row.cost_usd ?? 0));
  }
  const step = STEP_S[granularity];
  const known = [...points.keys()].sort((a, b) => a - b);
  if (step && known.length) {
    // Walk from the window start (aligned to the buckets we have) to its end.
    const anchor = known[0] ?? 0;
    const from = Date.parse(fromIso) / 1000;
    const to = Date.parse(toIso) / 1000;
    const first = anchor - Math.floor((anchor - from) / step) * step;
    const xs: number[] = [];
    for (let t = first; t < to && xs.length < 5000; t += step) xs.push(t);
    return [xs, xs.map((t) => points.get(t) ?? 0)];
  }
  return [known, known.map((t) => points.get(t) ?? 0)];
}

/**
 * The chart's points that hold a marked instant (anomalies, epoch s): each mark goes to the bucket that
 * contains it — the browser's local days need not start at UTC midnight, where anomaly days do.
 */
export function markedPoints(
  xs: readonly number[],
  ys: readonly number[],
  marks: ReadonlySet<number>,
): (number | null)[] {
  const out: (number | null)[] = xs.map(() => null);
  for (const mark of marks) {
    let at = -1;
    for (let i = 0; i < xs.length && (xs[i] ?? Number.POSITIVE_INFINITY) <= mark; i++) at = i;
    // Past the last bucket's end (one step after it) is outside the chart.
    const step = (xs[1] ?? 0) - (xs[0] ?? 0);
    const last = xs.length - 1;
    if (at < 0 || (at === last && (step <= 0 || mark - (xs[last] ?? 0) >= step))) continue;
    out[at] = ys[at] ?? null;
  }
  return out;
}

const NO_MARKS: ReadonlySet<number> = new Set();

export function CostChart({ xs, ys, marks = NO_MARKS }: { xs: number[]; ys: number[]; marks?: ReadonlySet<number> }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height: 220,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#667085', grid: { stroke: '#eef0f3' } },
        {
          stroke: '#667085',
          grid: { stroke: '#eef0f3' },
          values: (_u, splits) => splits.map((v) => usd(v)),
          // Wide enough for the longest label ($0.000015 needs more room than $20.00).
          size: (_u, values) => 16 + 7 * Math.max(5, ...(values ?? []).map((v) => v.length)),
        },
      ],
      series: [
        {},
        {
          label: 'Cost',
          stroke: '#3f51b5',
          width: 2,
          fill: 'rgba(63,81,181,0.12)',
          points: { show: xs.length < 60 },
          value: (_u, v) => usd(v),
        },
        {
          // Unusual spend (GET /spend/anomalies): red points, no line.
          label: 'Unusual spend',
          stroke: '#d92d20',
          paths: () => null,
          points: { show: true, size: 9, fill: '#d92d20' },
        },
      ],
    };
    plot.current = new uPlot(opts, [xs, ys, markedPoints(xs, ys, marks)], el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [xs, ys, marks]);

  const total = ys.reduce((a, b) => a + b, 0);
  const marked = markedPoints(xs, ys, marks).filter((v) => v !== null).length;
  return (
    <figure class="chart">
      <div
        ref={host}
        role="img"
        aria-label={`Cost over time: ${xs.length} points, ${usd(total)} in total${marked ? `, ${marked} with unusual spend` : ''}`}
      />
    </figure>
  );
}
