// `serve --workers N` through the real CLI (bin/spendhouse.mjs): N server processes on one port, each call
// answered by one of them (SPENDHOUSE_DEBUG_PID=1 names it in x-spendhouse-pid); a killed process is
// replaced; SIGTERM lets in-flight calls finish and the primary exit 0, with every answered call in
// ClickHouse exactly once; a deployment whose processes cannot start fails instead of restarting forever.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { restartDelayMs } from '../src/cli/serverProcesses.js';
import { createWarehouse } from '../src/clickhouse/plugin.js';
import { sql } from '../src/clickhouse/sql.js';
import { type FakeUpstream, startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { Cli, serveEnv } from './helpers/cliProcess.js';
import { dropTestState, testConfig, testEnv } from './helpers/testApp.js';

const ROOT = join(import.meta.dirname, '..');
const MASTER_KEY = `sk-${randomBytes(24).toString('hex')}`;

/** One call on a connection of its own (the primary hands connections, not requests, to the processes). */
function call(port: number, model: string): Promise<{ status: number; pid: number }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/v1/chat/completions',
        agent: false,
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: Number(res.headers['x-spendhouse-pid']) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Scrape {
  status: number;
  pid: number;
  scope: string;
  processes: string;
  /** spendhouse_requests_total summed over its series. */
  requests: number;
}

/** GET /metrics on a connection of its own, so successive scrapes land on different processes. */
function scrape(port: number): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', path: '/metrics', agent: false, headers: { authorization: `Bearer ${MASTER_KEY}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          const requests = text
            .split('\n')
            .filter((line) => line.startsWith('spendhouse_requests_total{'))
            .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
          resolve({
            status: res.statusCode ?? 0,
            pid: Number(res.headers['x-spendhouse-pid']),
            scope: String(res.headers['x-spendhouse-metrics-scope']),
            processes: String(res.headers['x-spendhouse-metrics-processes']),
            requests,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Scrapes until each of `pids` has answered at least twice: every answer must be the cluster's count. */
async function assertMergedScrapes(port: number, pids: Set<number>, calls: number): Promise<void> {
  const answers = new Map<number, number>();
  for (let i = 0; i < 40 && [...pids].some((pid) => (answers.get(pid) ?? 0) < 2); i++) {
    const s = await scrape(port);
    assert.equal(s.status, 200);
    assert.deepEqual(
      { scope: s.scope, processes: s.processes, requests: s.requests },
      { scope: 'cluster', processes: `${pids.size}/${pids.size}`, requests: calls },
      `scrape answered by ${s.pid}`,
    );
    answers.set(s.pid, (answers.get(s.pid) ?? 0) + 1);
  }
  assert.deepEqual([...answers.keys()].sort(), [...pids].sort(), 'every process answered scrapes');
}

const parentOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

/** Polls until `check` holds: the condition is the event (a count in ClickHouse, a request at the fake). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the image and both compose files use it: proxies on every core, one ingest process', () => {
  for (const file of ['docker-compose.yml', 'docker-compose.cluster.yml']) {
    const compose = parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const serves = Object.values(compose.services).flatMap((s) => (s.command?.[0] === 'serve' ? [s.command] : []));
    assert.ok(serves.length >= 2, file);
    for (const command of serves) {
      const role = command[command.indexOf('--role') + 1];
      assert.equal(command[command.indexOf('--workers') + 1], role === 'worker' ? '1' : 'auto', `${file}: ${command}`);
    }
  }
  assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^CMD \["serve", "--workers", "auto"\]$/m);
});

test('restart delay: 0.5 s, doubling with each death in a row, capped at 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 7, 8, 50].map(restartDelayMs), [500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
});

test('--workers takes a whole number from 1 or "auto"; anything else exits 2 naming it', async () => {
  for (const bad of ['0', 'two', '1.5']) {
    const cli = new Cli(['serve', '--workers', bad], { PATH: process.env.PATH, MASTER_KEY });
    assert.equal(await cli.exit(), 2, cli.output);
    assert.match(cli.output, new RegExp(`--workers: expected a whole number from 1 to 1024 or "auto", got "${bad}"`));
  }
});

describe('serve --workers 2', { timeout: 300_000 }, () => {
  const env = testEnv();
  const config = testConfig({}, env);
  const childEnv = serveEnv(env, config, MASTER_KEY, { SPENDHOUSE_DEBUG_PID: '1' });
  const warehouse = createWarehouse(config.clickhouse);
  const children: Cli[] = [];
  let fake: FakeUpstream;

  before(async () => {
    fake = await startFakeUpstream({ latencyMs: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'spendhouse-workers-'));
    const model = (name: string, upstream: string) => ({
      model_name: name,
      litellm_params: { model: `openai/${upstream}`, api_base: `${fake.url}/v1` },
    });
    // `slow-1500`: the fake waits 1.5 s before answering, so calls are in flight when SIGTERM comes.
    writeFileSync(
      join(dir, 'config.yaml'),
      JSON.stringify({ metrics: { enabled: true }, model_list: [model('fast', 'fast'), model('slow', 'slow-1500')] }),
    );
    childEnv.CONFIG_FILE_PATH = join(dir, 'config.yaml');
  });
  after(async () => {
    for (const cli of children) cli.proc.kill('SIGKILL');
    await fake.close();
    await warehouse.client.close();
    await dropTestState(config);
  });
  const cli = (args: string[]) => {
    const child = new Cli(args, childEnv);
    children.push(child);
    return child;
  };
  const records = async () => {
    const counts = z.object({ n: z.coerce.number(), ids: z.coerce.number() });
    const [row] = await warehouse.rows(sql`SELECT count() AS n, uniqExact(request_id) AS ids FROM spend_logs`, counts);
    return { n: row?.n ?? 0, ids: row?.ids ?? 0 };
  };

  test('calls spread over 2 processes; a killed one is replaced; SIGTERM finishes in-flight calls', async () => {
    const primary = cli(['serve', '--workers', '2']);
    const port = Number((await primary.next(/Listening:\s+127\.0\.0\.1 port (\d+)/))[1]);
    assert.match(primary.output, /role: all, 2 processes/);
    const pids = new Set<number>();
    while (pids.size < 2) pids.add(Number((await primary.next(/server process (\d+) listening/))[1]));
    for (const pid of pids) assert.equal(parentOf(pid), primary.proc.pid, 'forked by the primary');

    const answeredBy = new Set<number>();
    /** Calls each process answered: its share of spendhouse_requests_total. */
    const callsOf = new Map<number, number>();
    let answered = 0;
    for (let i = 0; i < 10; i++) {
      const res = await call(port, 'fast');
      assert.equal(res.status, 200);
      answeredBy.add(res.pid);
      callsOf.set(res.pid, (callsOf.get(res.pid) ?? 0) + 1);
      answered++;
    }
    assert.deepEqual([...answeredBy].sort(), [...pids].sort(), 'both processes answer');
    // /metrics is the cluster's whichever process takes the scrape: both processes' calls, every time.
    await assertMergedScrapes(port, pids, answered);
    // Before the kill, so no record depends on what a SIGKILLed process held in memory (issue 17 item 3).
    await until(async () => (await records()).n === answered, `${answered} records`);

    const [killed, survivor] = [...pids] as [number, number];
    process.kill(killed, 'SIGKILL');
    await primary.next(new RegExp(`server process ${killed} exited \\(signal SIGKILL\\); starting another in 0.5 s`));
    const replacement = Number((await primary.next(/server process (\d+) listening/))[1]);
    assert.ok(!pids.has(replacement));
    assert.equal(parentOf(replacement), primary.proc.pid);
    const after = new Set<number>();
    for (let i = 0; i < 20 && after.size < 2; i++) {
      const res = await call(port, 'fast');
      assert.equal(res.status, 200);
      after.add(res.pid);
      callsOf.set(res.pid, (callsOf.get(res.pid) ?? 0) + 1);
      answered++;
    }
    assert.deepEqual([...after].sort(), [survivor, replacement].sort());
    // The killed process's counters died with it; the replacement's are merged from its first call.
    await assertMergedScrapes(port, after, (callsOf.get(survivor) ?? 0) + (callsOf.get(replacement) ?? 0));

    // In flight: every slow call has reached the provider (and waits 1.5 s there) when SIGTERM comes.
    const inFlight = Array.from({ length: 8 }, () => call(port, 'slow'));
    await until(() => fake.requests.filter((r) => r.body?.model === 'slow-1500').length === 8, 'calls at the fake');
    primary.proc.kill('SIGTERM');
    const statuses = (await Promise.all(inFlight)).map((r) => r.status);
    assert.deepEqual(statuses, Array(8).fill(200));
    answered += 8;
    assert.equal(await primary.exit(), 0, primary.output);
    assert.match(primary.output, /SIGTERM: stopping 2 server process\(es\)/);
    assert.throws(() => readFileSync(`/proc/${replacement}/stat`), 'no process left behind');

    // What they flushed on the way out is in the queue; an ingest worker (`--workers 1`: one process, as
    // before) lands it. Every answered call exactly once.
    const worker = cli(['serve', '--role', 'worker', '--workers', '1']);
    await worker.next(/Spendhouse is running \(role: worker\)/);
    await until(async () => (await records()).n >= answered, `${answered} records`);
    worker.proc.kill('SIGTERM');
    assert.equal(await worker.exit(), 0, worker.output);
    assert.deepEqual(await records(), { n: answered, ids: answered });
  });

  test('processes that cannot start (port taken) stop the primary with an error, no restart loop', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const address = taken.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const primary = cli(['serve', '--workers', '2', '--port', String(port)]);
      assert.equal(await primary.exit(), 1, primary.output);
      assert.match(primary.output, /server process \d+ failed to start \(code 1\)/);
      assert.doesNotMatch(primary.output, /starting another/);
    } finally {
      taken.close();
    }
  });
});
