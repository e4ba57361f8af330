// `npm run import -- <files|dir>`: backfill spend from JSON / NDJSON files (SpendRecords or LiteLLM's
// StandardLoggingPayload / SpendLogs rows, optionally .gz), through the same validation, pricing, duplicate
// claims and queue as POST /ingest/v1/records. `npm run dlq -- list|replay`: the dead-letter queue.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createWarehouse } from '../clickhouse/plugin.js';
import type { AppConfig } from '../config/load.js';
import { createRedis } from '../redis/plugin.js';
import { acceptRecords, type IngestOutcome } from './acceptRecords.js';
import { DeadLetterStore } from './deadLetters.js';
import { createIngestPricer } from './pricing.js';
import { SpendProducer } from './producer.js';
import { parseRecordBody } from './recordBody.js';

const IMPORTABLE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
/** Records handed to acceptRecords at a time (bounded memory for the claim/check round trips). */
const IMPORT_CHUNK = 20_000;
const SHOWN_REJECTIONS = 5;

export function importableFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (statSync(path).isDirectory()) {
      const entries = readdirSync(path).sort();
      out.push(
        ...importableFiles(
          entries.map((e) => join(path, e)).filter((p) => statSync(p).isDirectory() || IMPORTABLE.test(p)),
        ),
      );
    } else {
      out.push(path);
    }
  }
  return out;
}

function readBytes(path: string): Buffer {
  const bytes = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

function openPipeline(config: AppConfig) {
  const redis = createRedis(config.redis);
  const warehouse = createWarehouse(config.clickhouse);
  const deadLetters = new DeadLetterStore(redis);
  const producer = new SpendProducer(config.redis, deadLetters, { maxBatchRecords: 5000, maxBatchDelayMs: 50 });
  const close = async () => {
    await producer.close();
    await warehouse.client.close();
    redis.disconnect();
  };
  return { redis, warehouse, producer, deadLetters, close };
}

async function runImport(config: AppConfig, paths: string[]): Promise<number> {
  if (paths.length === 0) {
    console.error('usage: npm run import -- <file|dir> [more files or dirs]');
    return 2;
  }
  const files = importableFiles(paths);
  const { redis, warehouse, producer, close } = openPipeline(config);
  const deps = {
    redis,
    warehouse,
    producer,
    price: createIngestPricer(config),
    storePrompts: config.storePrompts,
    warn: (m: string) => console.warn(m),
  };
  const total = { accepted: 0, duplicate: 0, rejected: 0 };
  try {
    for (const file of files) {
      const raws = await parseRecordBody(readBytes(file));
      const outcome: IngestOutcome = { accepted: 0, duplicate: 0, rejected: 0, results: [] };
      for (let i = 0; i < raws.length; i += IMPORT_CHUNK) {
        const part = await acceptRecords(deps, raws.slice(i, i + IMPORT_CHUNK));
        outcome.accepted += part.accepted;
        outcome.duplicate += part.duplicate;
        outcome.rejected += part.rejected;
        const rejections = part.results.filter((r) => r.status === 'rejected');
        outcome.results.push(...rejections.map((r) => ({ ...r, index: r.index + i })));
      }
      console.log(
        `${file}: ${outcome.accepted} accepted, ${outcome.duplicate} duplicate, ${outcome.rejected} rejected`,
      );
      for (const r of outcome.results.slice(0, SHOWN_REJECTIONS)) {
        const why = (r.errors ?? []).map((e) => `${e.field}: ${e.reason}`).join('; ');
        console.log(`  record ${r.index}${r.request_id ? ` (${r.request_id})` : ''}: ${why}`);
      }
      total.accepted += outcome.accepted;
      total.duplicate += outcome.duplicate;
      total.rejected += outcome.rejected;
    }
  } finally {
    await close();
  }
  console.log(
    `total: ${total.accepted} accepted, ${total.duplicate} duplicate, ${total.rejected} rejected from ${files.length} file(s); ` +
      'accepted records are queued and inserted by the running worker (role all or worker)',
  );
  return total.rejected > 0 ? 1 : 0;
}

async function runDeadLetters(config: AppConfig, action: string | undefined): Promise<number> {
  const { producer, deadLetters: store, close } = openPipeline(config);
  try {
    if (action === 'replay') {
      const result = await store.replay((records, batchId) => producer.enqueue(records, 'replay', batchId));
      console.log(`replayed ${result.replayed} record(s); ${result.still_invalid} still fail validation and stay`);
      return 0;
    }
    if (action === 'list' || action === undefined) {
      const letters = await store.list(0, 100);
      console.log(`${await store.count()} dead letter(s)`);
      for (const l of letters) console.log(`${l.failed_at}  ${l.request_id ?? '(no id)'}  ${l.stage}: ${l.reason}`);
      return 0;
    }
    console.error('usage: npm run dlq -- list | replay');
    return 2;
  } finally {
    await close();
  }
}

/** `import` and `dlq` commands of the spendhouse CLI. */
export async function runIngestCli(command: 'import' | 'dlq', args: string[], config: AppConfig): Promise<number> {
  return command === 'import' ? runImport(config, args) : runDeadLetters(config, args[0]);
}
