// No answered call without a durable record (issue 17 item 3), through the real CLI: a `serve` process
// (role proxy, one process) answers ~300 calls at concurrency 20, JSON and streamed, and its whole process
// group is SIGKILLed the moment the last answer has arrived. A worker started afterwards lands every
// answered call in spend_logs exactly once: each record was in Redis before its answer's last byte left.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { z } from 'zod';
import { createWarehouse } from '../src/clickhouse/plugin.js';
import { joinSql, sql } from '../src/clickhouse/sql.js';
import { Cli, serveEnv } from './helpers/cliProcess.js';
import { dropTestState, testConfig, testEnv } from './helpers/testApp.js';

const MASTER_KEY = `sk-${randomBytes(24).toString('hex')}`;
const CALLS = 300;
const CONCURRENCY = 20;

describe('a proxy SIGKILLed under load', { timeout: 240_000 }, () => {
  const env = testEnv();
  const config = testConfig({}, env);
  const childEnv = serveEnv(env, config, MASTER_KEY);
  const warehouse = createWarehouse(config.clickhouse);
  const children: ChildProcessWithoutNullStreams[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'spendhouse-sigkill-'));
  writeFileSync(
    join(dir, 'config.yaml'),
    JSON.stringify({
      model_list: [{ model_name: 'm', litellm_params: { model: 'mock/gpt-4o-mini' } }],
      general_settings: { store_prompts_in_spend_logs: true },
    }),
  );
  childEnv.CONFIG_FILE_PATH = join(dir, 'config.yaml');

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await warehouse.client.close();
    await dropTestState(config);
  });

  test('every answered call lands exactly once after a restart', async () => {
    // Role proxy: the batches it queued wait for the worker started below (a killed `all` process's batch
    // in hand would first wait out BullMQ's stalled-job lock, 30 s, which is not what this test is about).
    const proxy = new Cli(['serve', '--role', 'proxy', '--workers', '1'], childEnv, { detached: true });
    children.push(proxy.proc);
    const port = Number((await proxy.next(/Listening:\s+127\.0\.0\.1 port (\d+)/))[1]);

    const answered: string[] = [];
    let next = 0;
    const oneCall = async (i: number) => {
      const stream = i % 3 === 0;
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'm',
          stream,
          messages: [{ role: 'user', content: `call ${i}` }],
          ...(stream ? { stream_options: { include_usage: true } } : {}),
        }),
      });
      const body = await res.text();
      assert.equal(res.status, 200, body);
      if (stream) assert.match(body, /data: \[DONE\]/);
      else assert.ok(JSON.parse(body).choices);
      answered.push(res.headers.get('x-spend-request-id') ?? '');
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CALLS) await oneCall(next++);
      }),
    );
    // The moment the last answer is in: the whole group, no chance to flush anything.
    process.kill(-(proxy.proc.pid as number), 'SIGKILL');
    await once(proxy.proc, 'exit');
    assert.equal(answered.length, CALLS);

    const worker = new Cli(['serve', '--role', 'worker', '--workers', '1'], childEnv, { detached: true });
    children.push(worker.proc);
    await worker.next(/Spendhouse is running \(role: worker\)/);
    const counts = z.object({ n: z.coerce.number(), ids: z.coerce.number() });
    const landed = async () => {
      const [row] = await warehouse.rows(
        sql`SELECT count() AS n, uniqExact(request_id) AS ids FROM spend_logs WHERE request_id IN (${joinSql(answered)})`,
        counts,
      );
      return { n: row?.n ?? 0, ids: row?.ids ?? 0 };
    };
    // Polled against a deadline: the rows appearing is the event (a staged batch of the killed mover waits
    // for its lock to expire, 5 s at most).
    const deadline = Date.now() + 60_000;
    let seen = await landed();
    while (seen.ids < CALLS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await landed();
    }
    assert.deepEqual(seen, { n: CALLS, ids: CALLS }, `${CALLS - seen.ids} answered calls have no record`);
    worker.proc.kill('SIGTERM');
    assert.equal((await once(worker.proc, 'exit'))[0], 0, worker.output);
  });
});
