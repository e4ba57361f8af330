// Proxy overhead: the same chat call sent straight to a fake provider and through Spendhouse (auth, tags,
// budget guard, token count, pricing, SpendRecord to the real BullMQ producer), JSON and streamed, plus the
// in-process mock provider (the proxy alone, no upstream hop). The fake provider runs in a child process so
// it does not share the proxy's event loop. Prints a table and writes bench/results/proxy.json.
//   npm run bench -- proxy [--n 3000] [--concurrency 16]
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { startTestApp, TEST_MASTER_KEY, testConfig } from '../test/helpers/testApp.js';

const CHILD_FLAG = 'SPENDHOUSE_BENCH_FAKE_UPSTREAM';

if (process.env[CHILD_FLAG]) {
  const fake = await startFakeUpstream({ usage: { promptTokens: 100, completionTokens: 20 } });
  process.send?.(fake.url);
}

function startFakeInChild(): Promise<{ url: string; stop(): void }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [CHILD_FLAG]: '1' },
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (url) => resolve({ url: String(url), stop: () => child.kill() }));
    child.once('error', reject);
  });
}

interface Result {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

async function load(url: string, body: string, n: number, concurrency: number): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const headers = { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next += 1;
        const t0 = performance.now();
        const res = await request(url, { method: 'POST', headers, body });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`${url}: status ${res.statusCode}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => Number((latencies[Math.floor((latencies.length - 1) * p)] ?? 0).toFixed(2));
  return { rps: Math.round(n / seconds), p50_ms: at(0.5), p99_ms: at(0.99) };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { n: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '16' } },
  });
  const n = Number(values.n);
  const concurrency = Number(values.concurrency);
  const fake = await startFakeInChild();
  const prices = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 };
  const app = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'bench',
          litellm_params: { model: 'openai/bench', api_base: `${fake.url}/v1` },
          model_info: prices,
        },
        { model_name: 'bench-mock', litellm_params: { model: 'mock/bench' }, model_info: prices },
      ],
    }),
    { ingestWorker: false },
  );
  try {
    await app.app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.app.server.address();
    const proxy = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/chat/completions`;
    const direct = `${fake.url}/v1/chat/completions`;
    const body = (model: string, stream: boolean) =>
      JSON.stringify({
        model,
        stream,
        messages: [{ role: 'user', content: 'Hello, how are you?' }],
        tags: ['bench:a'],
      });
    const scenarios: [string, string, string][] = [
      ['json direct', direct, body('bench', false)],
      ['json proxied', proxy, body('bench', false)],
      ['stream direct', direct, body('bench', true)],
      ['stream proxied', proxy, body('bench', true)],
      ['mock provider (proxy only)', proxy, body('bench-mock', false)],
    ];
    for (const [, url, payload] of scenarios) await load(url, payload, Math.min(n, 500), concurrency); // warm-up
    const results: (Result & { scenario: string })[] = [];
    for (const [scenario, url, payload] of scenarios)
      results.push({ scenario, ...(await load(url, payload, n, concurrency)) });
    const report = { n, concurrency, node: process.version, results };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/proxy.json', `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nproxy overhead, ${n} calls per scenario, concurrency ${concurrency}\n`);
    console.log('| scenario | calls/s | p50 ms | p99 ms |\n|---|---:|---:|---:|');
    for (const r of results) console.log(`| ${r.scenario} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} |`);
    console.log('\nwritten bench/results/proxy.json');
  } finally {
    await app.close();
    fake.stop();
  }
}
