// `npm run bench -- proxy --target URL --key KEY`: open-loop load on an existing deployment with a realistic
// mix — every model the key may use (its /v1/models), three feature tags, ten end users via `user`, one chat
// call in five streamed, embedding models called on /v1/embeddings. No direct comparison (the provider behind
// it is real): its latencies and errors only. Mind that every call is a real, billed LLM call on that
// deployment (the probe before the load makes one or two more per model).
import { loadavg } from 'node:os';
import { startLoadGenerator } from './lib/loadGenerator.js';
import type { LoadRequest } from './lib/loadJob.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';
import { stepStatus } from './proxyLoadTable.js';

const FEATURES = ['search', 'chat', 'summarize'];

export interface TargetModels {
  chat: string[];
  embedding: string[];
}

/**
 * Every model in turn (chat ones on chat/completions, embedding ones on embeddings), ten rounds: each chat
 * model is streamed in two rounds of the ten, so one chat call in five streams and every model does.
 */
export function mixedRequests(base: string, models: TargetModels): LoadRequest[] {
  const all = [...models.chat.map((m) => ({ m, chat: true })), ...models.embedding.map((m) => ({ m, chat: false }))];
  return Array.from({ length: all.length * 10 }, (_, i) => {
    const { m, chat } = all[i % all.length] as { m: string; chat: boolean };
    const round = Math.floor(i / all.length);
    const common = {
      model: m,
      user: `bench-user-${i % 10}`,
      tags: [`feature:${FEATURES[i % FEATURES.length]}`, 'env:bench'],
    };
    if (!chat)
      return { path: `${base}/v1/embeddings`, body: JSON.stringify({ ...common, input: `Benchmark call ${i}` }) };
    const body = {
      ...common,
      stream: round % 5 === 0,
      max_tokens: 16,
      messages: [{ role: 'user', content: `Benchmark call ${i}: answer with one short sentence.` }],
    };
    return { path: `${base}/v1/chat/completions`, body: JSON.stringify(body) };
  });
}

/**
 * Which endpoint each model serves, found by one small call: chat first, embeddings when chat is refused.
 * /v1/models does not say (OpenAI's answer has no mode), and a chat call on an embedding model is a 4xx.
 * Models that answer neither are left out of the mix and named with the provider's answer.
 */
async function probeModels(origin: string, base: string, key: string, ids: string[]) {
  const post = async (path: string, body: object) => {
    const res = await fetch(`${origin}${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, tags: ['env:bench', 'bench:probe'] }),
    });
    return res.ok ? null : `${res.status} ${(await res.text()).slice(0, 160)}`;
  };
  const models: TargetModels = { chat: [], embedding: [] };
  const skipped: string[] = [];
  for (const model of ids) {
    const chatError = await post('/v1/chat/completions', {
      model,
      max_tokens: 1,
      messages: [{ role: 'user', content: 'Say ok.' }],
    });
    if (!chatError) {
      models.chat.push(model);
      continue;
    }
    const embeddingError = await post('/v1/embeddings', { model, input: 'ok' });
    if (!embeddingError) models.embedding.push(model);
    else skipped.push(`${model} (chat: ${chatError}; embeddings: ${embeddingError})`);
  }
  return { models, skipped };
}

export async function runAgainstTarget(
  target: string,
  key: string,
  rates: number[],
  durationMs: number,
  cutoffMs: number,
) {
  const url = new URL(target);
  const base = url.pathname.replace(/\/(v1\/?)?$/, '');
  const res = await fetch(`${url.origin}${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`${target}/v1/models: ${res.status} ${await res.text()}`);
  const ids = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
  if (!ids.length) throw new Error('the key may use no model (empty /v1/models)');
  const { models, skipped } = await probeModels(url.origin, base, key, ids);
  console.log(
    `target ${url.origin}: chat ${models.chat.join(', ') || '–'}; embeddings ${models.embedding.join(', ') || '–'}`,
  );
  for (const s of skipped) console.log(`  left out: ${s}`);
  if (!models.chat.length && !models.embedding.length) throw new Error('no model answered a chat or embeddings call');
  const machine = machineInfo();
  const generator = await startLoadGenerator();
  const rows = [];
  try {
    for (const rate of rates) {
      const report = await generator.run({
        origins: [url.origin],
        key,
        requests: mixedRequests(base, models),
        mode: 'open',
        rate,
        connections: 1024,
        durationMs,
        cutoffMs,
      });
      rows.push({ rate, ...report, load1m: loadavg()[0] });
      const cut = report.cutOffAtS === null ? '' : `, OVERLOADED: cut off at ${report.cutOffAtS} s`;
      console.log(
        `  ${rate} rps: achieved ${report.achievedRps}, p99 ${report.latency.p99} ms, errors ${report.errors}${cut}`,
      );
    }
  } finally {
    generator.stop();
  }
  console.log(`\n${target}, open loop, ${durationMs / 1000} s per rate, a fifth of chat calls streamed\n`);
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
        'step',
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
        stepStatus(r, durationMs),
        r.firstError,
      ]),
    ),
  );
  console.log(
    `\nwritten ${writeResult('proxy-target', { machine, target: url.origin, models, skipped, durationMs, rows })}`,
  );
}
