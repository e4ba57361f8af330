// One entry for every benchmark: `npm run bench -- <suite> [flags]`. Each suite module exports
// `run(argv)`, prints its table and writes JSON to bench/results/. Add a suite with one line here.
type Suite = () => Promise<{ run(argv: string[]): Promise<void> }>;

const suites: Record<string, Suite> = {
  query: () => import('./query.js'),
  ingest: () => import('./ingest.js'),
  proxy: () => import('./proxy.js'),
};

const [name, ...argv] = process.argv.slice(2);
const suite = name ? suites[name] : undefined;
if (!suite) {
  console.error(`usage: npm run bench -- <suite> [flags]\nsuites: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
await (await suite()).run(argv);
