// One entry for every benchmark: `npm run bench -- <suite> [flags]`, or `npm run bench -- all [label:--flag=v]`
// for every figure of the benchmark issue with short defaults (< 15 minutes on a 2-core machine once the query
// datasets are loaded). Module suites export `run(argv)`; script suites (budget, archive) run on import, so
// they are started as their own process. Each suite prints its table and writes JSON to bench/results/.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { formatTable } from './lib/report.js';

type Suite =
  | { kind: 'module'; load: () => Promise<{ run(argv: string[]): Promise<void> }> }
  | { kind: 'script'; file: string };

const suites: Record<string, Suite> = {
  proxy: { kind: 'module', load: () => import('./proxyLoad.js') },
  ingest: { kind: 'module', load: () => import('./ingest.js') },
  'ingest-stall': { kind: 'module', load: () => import('./ingestStall.js') },
  'json-stall': { kind: 'module', load: () => import('./jsonBodyStall.js') },
  query: { kind: 'module', load: () => import('./query.js') },
  budget: { kind: 'script', file: 'bench/budget.ts' },
  archive: { kind: 'script', file: 'bench/archive.ts' },
  guardrails: { kind: 'module', load: () => import('./guardrails.js') },
  cluster: { kind: 'module', load: () => import('./cluster.js') },
};

export interface AllStep {
  /** Names the step in the summary and in routed flags (`<label>:--flag=value`). */
  label: string;
  suite: string;
  args: string[];
}

/**
 * What `all` runs: every figure of the issue, sized so the whole takes < 15 minutes here. The proxy suite's
 * open-loop steps are cut off once overloaded (bench/lib/openLoop.ts), so its length is bounded whatever the
 * machine does. The query datasets (10M calls in ClickHouse and in PostgreSQL, 100M in ClickHouse) are kept
 * between runs by the query suite; the first `all` on a machine loads the 10M pair, which takes much longer.
 * Postgres at 10M takes tens of seconds per question, hence one repetition there; at 100M Spendhouse only,
 * over the whole month of a dataset `all` never loads itself (the step says so when it is missing): load it
 * once with `npm run bench -- query --n 100000000 --no-pg` (about 25 minutes on an otherwise idle machine
 * here; resumable).
 */
export const ALL: AllStep[] = [
  { label: 'proxy', suite: 'proxy', args: ['--seconds', '10'] },
  { label: 'ingest', suite: 'ingest', args: ['--records', '200000', '--seconds', '15'] },
  { label: 'query-10m', suite: 'query', args: ['--n', '10000000', '--reps', '3', '--pg-reps', '1'] },
  {
    label: 'query-100m',
    suite: 'query',
    args: ['--n', '100000000', '--reps', '1', '--no-pg', '--no-load'],
  },
  { label: 'budget', suite: 'budget', args: ['--rounds', '1'] },
  { label: 'archive', suite: 'archive', args: [] },
];

const services = {
  CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
};

/**
 * The argv of each step: its defaults, then the routed flags for its label or suite name (`query:--reps=1`
 * goes to both query steps, `query-100m:--reps=3` to one). `--only=a,b` keeps the named labels.
 */
export function planAll(routed: string[]): { step: AllStep; argv: string[] }[] {
  const only = routed
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  return ALL.filter((step) => !only || only.includes(step.label)).map((step) => {
    const extra = routed
      .map((a) => [`${step.label}:`, `${step.suite}:`].find((p) => a.startsWith(p))?.length ?? 0)
      .flatMap((cut, i) => (cut ? [(routed[i] as string).slice(cut)] : []));
    return { step, argv: [...step.args, ...extra] };
  });
}

function runAll(routed: string[]): number {
  const done: [string, string, number, number][] = [];
  const started = performance.now();
  for (const { step, argv } of planAll(routed)) {
    console.log(`\n=== ${step.label}: ${step.suite} ${argv.join(' ')} (load average ${loadavg()[0]?.toFixed(1)}) ===`);
    const stepStarted = performance.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', step.suite, ...argv], {
      stdio: 'inherit',
      env: { ...process.env, ...services },
    });
    done.push([step.label, argv.join(' '), Math.round((performance.now() - stepStarted) / 1000), result.status ?? 1]);
  }
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  console.log(
    `\nall suites: ${minutes} minutes (load average at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')})`,
  );
  console.log(`\n${formatTable(['step', 'flags', 'seconds', 'exit'], done)}`);
  return done.every((d) => d[3] === 0) ? 0 : 1;
}

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  if (name === 'all') process.exit(runAll(argv));
  const suite = name ? suites[name] : undefined;
  if (!suite) {
    console.error(`usage: npm run bench -- <suite> [flags]\nsuites: ${Object.keys(suites).join(', ')}, all`);
    process.exit(2);
  }
  if (suite.kind === 'module') await (await suite.load()).run(argv);
  else {
    const result = spawnSync(process.execPath, ['--import', 'tsx', suite.file, ...argv], {
      stdio: 'inherit',
      env: { ...services, ...process.env },
    });
    process.exit(result.status ?? 1);
  }
}

// Imported by the tests for planAll; run as the entry otherwise.
if (process.argv[1]?.endsWith('bench/run.ts')) await main();
