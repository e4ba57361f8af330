// `npm run bench -- proxy --target URL --key KEY`: open-loop load on an existing deployment with a realistic
// mix — every model the key may use (its /v1/models), three feature tags, ten end users via `user`, one call
// in five streamed. No direct comparison (the provider behind it is real): its latencies and errors only.
// Mind that every call is a real, billed LLM call on that deployment.
import { loadavg } from 'node:os';
import { startLoadGenerator } from './lib/loadGenerator.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';

const FEATURES = ['search', 'chat', 'summarize'];

export function mixedBodies(models: string[], count = 60): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      model: models[i % models.length],
      stream: i % 5 === 0,
      max_tokens: 16,
      messages: [{ role: 'user', content: `Benchmark call ${i}: answer with one short sentence.` }],
      user: `bench-user-${i % 10}`,
      tags: [`feature:${FEATURES[i % FEATURES.length]}`, 'env:bench'],
    }),
  );
}

export async function runAgainstTarget(target: string, key: string, rates: number[], durationMs: number) {
  const url = new URL(target);
  const base = url.pathname.replace(/\/(v1\/?)?$/, '');
  const res = await fetch(`${url.origin}${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`${target}/v1/models: ${res.status} ${await res.text()}`);
  const models = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
  if (!models.length) throw new Error('the key may use no model (empty /v1/models)');
  console.log(`target ${url.origin}, models: ${models.join(', ')}`);
  const machine = machineInfo();
  const generator = await startLoadGenerator();
  const rows = [];
  try {
    for (const rate of rates) {
      const report = await generator.run({
        origin: url.origin,
        path: `${base}/v1/chat/completions`,
        key,
        bodies: mixedBodies(models),
        mode: 'open',
        rate,
        connections: 1024,
        durationMs,
      });
      rows.push({ rate, ...report, load1m: loadavg()[0] });
      console.log(
        `  ${rate} rps: achieved ${report.achievedRps}, p99 ${report.latency.p99} ms, errors ${report.errors}`,
      );
    }
  } finally {
    generator.stop();
  }
  console.log(`\n${target}, open loop, ${durationMs / 1000} s per rate, 20% streamed\n`);
  console.log(
    formatTable(
      [
        'rate',
        'achieved rps',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'stream TTFT p50 ms',
        'TTFT p99 ms',
        'errors',
        'first error',
      ],
      rows.map((r) => [
        r.rate,
        r.achievedRps,
        r.latency.p50,
        r.latency.p90,
        r.latency.p99,
        r.latency.max,
        r.ttft?.p50,
        r.ttft?.p99,
        r.errors,
        r.firstError,
      ]),
    ),
  );
  console.log(`\nwritten ${writeResult('proxy-target', { machine, target: url.origin, models, durationMs, rows })}`);
}
