// One entry for every benchmark: `npm run bench -- <suite> [flags]`, or `npm run bench -- all [suite:--flag=v]`
// for every suite with short defaults (< 15 minutes on a 2-core machine). Module suites export `run(argv)`; script
// suites (budget, archive) run on import, so they are started as their own process. Each suite prints its
// table and writes JSON to bench/results/.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { formatTable } from './lib/report.js';

type Suite =
  | { kind: 'module'; load: () => Promise<{ run(argv: string[]): Promise<void> }> }
  | { kind: 'script'; file: string };

const suites: Record<string, Suite> = {
  proxy: { kind: 'module', load: () => import('./proxyLoad.js') },
  'proxy-closed': { kind: 'module', load: () => import('./proxy.js') },
  ingest: { kind: 'module', load: () => import('./ingest.js') },
  query: { kind: 'module', load: () => import('./query.js') },
  budget: { kind: 'script', file: 'bench/budget.ts' },
  archive: { kind: 'script', file: 'bench/archive.ts' },
  guardrails: { kind: 'module', load: () => import('./guardrails.js') },
};

/** What `all` runs: every figure of the issue with short defaults. */
const ALL: [string, string[]][] = [
  ['proxy', ['--seconds', '10']],
  ['ingest', ['--records', '200000', '--seconds', '15']],
  ['query', ['--n', '1000000', '--reps', '5', '--pg-reps', '3']],
  ['budget', ['--rounds', '1']],
  ['archive', []],
];

const services = {
  CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
};

/** `all query:--n=10000000 proxy:--profile`: a `suite:` prefix routes a flag to that suite only. */
function runAll(routed: string[]): number {
  const done: [string, string, number, number][] = [];
  for (const [name, args] of ALL) {
    const extra = routed.filter((a) => a.startsWith(`${name}:`)).map((a) => a.slice(name.length + 1));
    const argv = [...args, ...extra];
    console.log(`\n=== ${name} ${argv.join(' ')} (load average ${loadavg()[0]?.toFixed(1)}) ===`);
    const started = performance.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', name, ...argv], {
      stdio: 'inherit',
      env: { ...process.env, ...services },
    });
    done.push([name, argv.join(' '), Math.round((performance.now() - started) / 1000), result.status ?? 1]);
  }
  console.log(`\nall suites\n\n${formatTable(['suite', 'flags', 'seconds', 'exit'], done)}`);
  return done.every((d) => d[3] === 0) ? 0 : 1;
}

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
