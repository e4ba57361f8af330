// A stand-alone ingest worker for the kill -9 test: same database and Redis prefix as the test app (from
// CLICKHOUSE_DATABASE), inserts through INSERT_URL (the test's TCP proxy), short locks so its batches are
// handed out again soon after it dies. Prints "ready" once it takes jobs.
import { createWarehouse } from '../../src/clickhouse/plugin.js';
import { DeadLetterStore } from '../../src/ingest/deadLetters.js';
import { createInsertWarehouse } from '../../src/ingest/plugin.js';
import { SpendWorker } from '../../src/ingest/worker.js';
import { createRedis } from '../../src/redis/plugin.js';
import { testConfig, testEnv } from './testApp.js';

const config = testConfig({}, testEnv({ CLICKHOUSE_DATABASE: process.env.CLICKHOUSE_DATABASE }));
const redis = createRedis(config.redis);
const worker = new SpendWorker(
  {
    redisConfig: config.redis,
    redis,
    warehouse: createInsertWarehouse(config.clickhouse, process.env.INSERT_URL),
    deadLetters: new DeadLetterStore(redis),
    log: { warn: () => {}, info: () => {} },
  },
  { concurrency: 4, maxRetryDelayMs: 1000, lockDurationMs: 2000, batchLockMs: 3000 },
);
// Touch the database once so a wrong setup fails loudly instead of hanging the test.
await createWarehouse(config.clickhouse).ping();
worker.start();
console.log('ready');
