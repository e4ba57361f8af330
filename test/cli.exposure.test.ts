// Safe defaults of the `spendhouse` command, through the real CLI (bin/spendhouse.mjs): `start` listens on
// loopback unless HOST says otherwise and will not open the network with the published demo key; `serve`
// refuses a short master key and the demo key (exit 2, naming the setting) before it connects to anything.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  checkServeExposure,
  checkStartExposure,
  DEMO_MASTER_KEY,
  isLoopbackHost,
  MIN_MASTER_KEY_LENGTH,
} from '../src/config/exposure.js';
import { type Env, loadConfig } from '../src/config/load.js';
import { type CliExit, runCliProcess } from './helpers/cliProcess.js';
import { dropTestState } from './helpers/testApp.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'spendhouse.mjs');
const STRONG_KEY = `sk-${randomBytes(24).toString('hex')}`;

/** The child's env: only what the test sets (no MASTER_KEY, HOST, … leaking from the caller's shell). */
function cliEnv(extra: Env): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

function run(args: string[], env: Env): Promise<CliExit> {
  return runCliProcess(args, cliEnv(env));
}

const load = (env: Env, fallback?: string) => loadConfig({ configPath: null, env, fallbackMasterKey: fallback });

describe('exposure rules', () => {
  test('HOST defaults to 127.0.0.1; HOST or server.host opens it', () => {
    assert.equal(load({ MASTER_KEY: STRONG_KEY }).host, '127.0.0.1');
    assert.equal(load({ MASTER_KEY: STRONG_KEY, HOST: '0.0.0.0' }).host, '0.0.0.0');
  });

  test('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      assert.ok(isLoopbackHost(h), h);
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  });

  test('serve: a key under 32 characters or the demo key is refused, naming the setting it came from', () => {
    assert.deepEqual(checkServeExposure(load({ MASTER_KEY: STRONG_KEY })).errors, []);
    const short = checkServeExposure(load({ LITELLM_MASTER_KEY: 'x'.repeat(MIN_MASTER_KEY_LENGTH - 1) })).errors;
    assert.match(short.join(), /^LITELLM_MASTER_KEY: 31 characters; `serve` needs .* at least 32/);
    assert.match(
      checkServeExposure(load({ MASTER_KEY: DEMO_MASTER_KEY })).errors.join(),
      /^MASTER_KEY: the published demo/,
    );
  });

  test('start: anything on loopback; beyond it the demo key is refused and a short key warned about', () => {
    assert.deepEqual(checkStartExposure(load({}, DEMO_MASTER_KEY)), { errors: [], warnings: [] });
    const open = checkStartExposure(load({ HOST: '0.0.0.0' }, DEMO_MASTER_KEY));
    assert.match(open.errors.join(), /^HOST \(server\.host\) is 0\.0\.0\.0: .*demo master key/);
    const weak = checkStartExposure(load({ HOST: '0.0.0.0', MASTER_KEY: 'short-key' }));
    assert.deepEqual(weak.errors, []);
    assert.match(weak.warnings.join(), /weak master key: MASTER_KEY: 9 characters/);
    assert.deepEqual(checkStartExposure(load({ HOST: '0.0.0.0', MASTER_KEY: STRONG_KEY })), {
      errors: [],
      warnings: [],
    });
  });
});

describe('the CLI', () => {
  test('`serve` with MASTER_KEY=x exits 2 naming MASTER_KEY, before connecting to anything', async () => {
    // URLs nothing listens on: a refusal must come before any connection attempt.
    const exit = await run(['serve'], {
      MASTER_KEY: 'x',
      CLICKHOUSE_URL: 'http://127.0.0.1:9',
      REDIS_URL: 'redis://127.0.0.1:9',
    });
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, /MASTER_KEY: 1 characters; `serve` needs a master key of at least 32 characters/);
  });

  test('`serve` with the demo key exits 2', async () => {
    const exit = await run(['serve'], { MASTER_KEY: DEMO_MASTER_KEY, CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, /MASTER_KEY: the published demo master key cannot be used by `serve`/);
  });

  test('`start` with HOST=0.0.0.0 and the demo key exits 2 before starting any service', async () => {
    const exit = await run(['start'], { HOST: '0.0.0.0', CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, /HOST \(server\.host\) is 0\.0\.0\.0/);
    assert.doesNotMatch(exit.stdout + exit.stderr, /starting a local one/);
  });

  describe('`start` with no HOST', () => {
    const database = `t_${randomBytes(5).toString('hex')}`;
    const env: Env = {
      CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
      CLICKHOUSE_DATABASE: database,
      REDIS_KEY_PREFIX: `test:${database}:`,
      PORT: '0',
    };
    // The demo config (no host in it), minus the archive, which would write into the repo's .data/.
    const dir = mkdtempSync(join(tmpdir(), 'spendhouse-start-'));
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, `${readFileSync(join(ROOT, 'config.demo.yaml'), 'utf8')}\narchive:\n  enabled: false\n`);
    let child: ChildProcess | null = null;
    after(async () => {
      child?.kill('SIGKILL');
      const cfg = loadConfig({ configPath: null, env, fallbackMasterKey: DEMO_MASTER_KEY });
      await dropTestState({ ...cfg, redis: { ...cfg.redis, keyPrefix: `test:${database}:` } });
    });

    test('listens on 127.0.0.1 only, with the demo key, and shuts down on SIGTERM', async () => {
      const proc = spawn(process.execPath, [CLI, 'start', '--config', configPath], { cwd: ROOT, env: cliEnv(env) });
      child = proc;
      let out = '';
      const banner = await new Promise<RegExpExecArray>((resolve, reject) => {
        proc.stdout.on('data', (d) => {
          out += d;
          const match = /Listening:\s+(\S+) port (\d+)/.exec(out);
          if (match) resolve(match);
        });
        proc.stderr.on('data', (d) => {
          out += d;
        });
        proc.on('exit', (code) => reject(new Error(`start exited ${code} before listening:\n${out}`)));
      });
      assert.equal(banner[1], '127.0.0.1', out);
      assert.match(out, /Master key: sk-spendhouse-demo-master-key/);
      const health = await fetch(`http://127.0.0.1:${banner[2]}/health/liveness`);
      assert.equal(health.status, 200);
      const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
      proc.kill('SIGTERM');
      assert.equal(await exited, 0);
      child = null;
    });
  });
});

test('docker-compose files: the app services listen on the container interfaces and require a MASTER_KEY', () => {
  for (const file of ['docker-compose.yml', 'docker-compose.cluster.yml']) {
    const compose = parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string> }>;
    };
    const apps = Object.entries(compose.services).filter(([, s]) => s.command?.includes('serve'));
    assert.ok(apps.length >= 2, `${file}: app services`);
    for (const [name, service] of apps) {
      assert.equal(
        service.environment?.HOST,
        '0.0.0.0',
        `${file} ${name}: HOST (the default 127.0.0.1 is unreachable from outside a container)`,
      );
      // `${MASTER_KEY:?…}`: compose refuses to start without one; `serve` then refuses a weak one.
      assert.match(service.environment?.MASTER_KEY ?? '', /^\$\{MASTER_KEY:\?[^}]+\}$/, name);
    }
  }
});
