// The `spendhouse` command. `start` is the one-command local run (starts ClickHouse/Redis when needed, demo
// config); `serve` is the production entry (uses the configured URLs only); `migrate` applies migrations;
// `test` runs type-check, lint and every test against real local services. `serve --workers N` (default: one
// per core) and `start --workers N` (default 1) run N server processes on one port (serverProcesses.ts).
import { spawnSync } from 'node:child_process';
import cluster from 'node:cluster';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { migrate } from '../clickhouse/migrate.js';
import { createWarehouse, ensureDatabase } from '../clickhouse/plugin.js';
import {
  checkServeExposure,
  checkStartExposure,
  DEMO_MASTER_KEY,
  type ExposureCheck,
  isLoopbackHost,
} from '../config/exposure.js';
import { type AppConfig, ConfigError, type Env, loadConfig } from '../config/load.js';
import { roleSchema } from '../config/schema.js';
import { ensureLocalServices, type LocalServices } from '../devservices/localServices.js';
import { createRedis } from '../redis/plugin.js';
import { type ListenAddress, parseWorkerCount, runServerProcesses } from './serverProcesses.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEMO_CONFIG = join(ROOT, 'config.demo.yaml');

function parseCli(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      role: { type: 'string' },
      port: { type: 'string', short: 'p' },
      workers: { type: 'string', short: 'w' },
    },
  });
  return { command: positionals[0] ?? 'start', rest: positionals.slice(1), values };
}

function configPathFrom(values: { config?: string }, env: Env, demoDefault: boolean): string | null {
  const path = values.config ?? env.CONFIG_FILE_PATH ?? env.SPENDHOUSE_CONFIG;
  if (path) return path;
  return demoDefault && existsSync(DEMO_CONFIG) ? DEMO_CONFIG : null;
}

function loadOrExit(path: string | null, env: Env, role: string | undefined, demo: boolean): AppConfig {
  try {
    const roleOverride = role === undefined ? undefined : roleSchema.parse(role);
    const config = loadConfig({
      configPath: path,
      env,
      roleOverride,
      fallbackMasterKey: demo ? DEMO_MASTER_KEY : undefined,
    });
    // The primary has shown them: the processes it forks read the same config.
    if (!cluster.isWorker)
      for (const warning of config.warnings) console.warn(`[spendhouse] config warning: ${warning}`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Refusals (exit 2, before anything starts) and loud warnings about where and with what key we listen. */
function enforceExposure(check: ExposureCheck): void {
  for (const warning of check.warnings) console.warn(`\n[spendhouse] WARNING: ${warning}\n`);
  if (check.errors.length === 0) return;
  console.error(`Refusing to start:\n${check.errors.map((e) => `  - ${e}`).join('\n')}`);
  process.exit(2);
}

/** What the operator sees once the server listens (one process, or the primary of several). */
function printBanner(
  config: AppConfig,
  address: ListenAddress,
  services: LocalServices | null,
  processes: number,
): void {
  const port = address.port;
  const bound = address.address || config.host;
  const shown = config.masterKey.length > 12 ? `${config.masterKey.slice(0, 8)}…` : '(set)';
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const browseHost = wildcard || isLoopbackHost(config.host) ? 'localhost' : config.host;
  console.log(
    [
      '',
      `  Spendhouse is running (role: ${config.role}${processes > 1 ? `, ${processes} processes` : ''})`,
      `  Listening:  ${bound} port ${port}   (${isLoopbackHost(bound) ? 'this machine only; HOST=0.0.0.0 opens it' : 'reachable from the network'})`,
      `  Proxy:      http://${browseHost}:${port}/v1   (OpenAI / Anthropic base_url)`,
      `  Dashboard:  http://${browseHost}:${port}/ui   (user: ${config.uiUsername})`,
      `  Master key: ${config.masterKey === DEMO_MASTER_KEY ? config.masterKey : `${shown} (from your config)`}`,
      services?.started.length ? `  Started:    ${services.started.join(', ')} (data in .data/)` : '',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
}

interface ServerOptions {
  /** Forked by `--workers N > 1`: the primary applied the migrations and prints the banner. */
  forked: boolean;
  /** SPENDHOUSE_DEBUG_PID=1: every answer names the process (x-spendhouse-pid). */
  debugPid: boolean;
}

async function runServer(config: AppConfig, services: LocalServices | null, opts: ServerOptions): Promise<void> {
  const { forked } = opts;
  // Imported here, not at the top: a `--workers` primary never builds the app (its RSS 147 → 122 MB).
  const { buildApp } = await import('../app.js');
  const app = await buildApp({ config, logger: { level: config.logLevel }, migrate: !forked });
  // Which process answered: for tests and for seeing how connections spread over the processes (off by
  // default: a pid tells callers something about the host).
  if (opts.debugPid)
    app.server.prependListener('request', (_req, res) => res.setHeader('x-spendhouse-pid', String(process.pid)));
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  if (!forked && typeof address === 'object' && address) printBanner(config, address, services, 1);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[spendhouse] ${signal}: shutting down${forked ? ` server process ${process.pid}` : ''}…`);
    const force = setTimeout(() => process.exit(1), 30_000);
    await app.close();
    await services?.stop();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** `npm start` on a fresh checkout: build the dashboard bundle (scripts/build-ui.mjs) if it is missing. */
function ensureDashboardBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'ui', 'index.html'))) return;
  console.log('[spendhouse] building the dashboard (dist/ui)…');
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-ui.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0)
    console.warn('[spendhouse] dashboard build failed: /ui will answer 503 until `npm run build` works');
}

function findTests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

function step(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  console.log(`\n[spendhouse test] ${name}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  return result.status === 0;
}

async function runTests(rest: string[]): Promise<number> {
  const env = process.env;
  const services = await ensureLocalServices(ROOT, { CLICKHOUSE_URL: env.CLICKHOUSE_URL, REDIS_URL: env.REDIS_URL });
  const testEnv = { ...env, CLICKHOUSE_URL: services.clickhouseUrl, REDIS_URL: services.redisUrl };
  try {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const biome = join(ROOT, 'node_modules', '.bin', 'biome');
    if (!step('type-check', tsc, ['--noEmit', '-p', 'tsconfig.json'], testEnv)) return 1;
    if (!step('lint', biome, ['check', '.'], testEnv)) return 1;
    const files = rest.length ? rest : [...findTests(join(ROOT, 'src')), ...findTests(join(ROOT, 'test'))];
    const ok = step(
      'tests',
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${env.TEST_CONCURRENCY ?? 2}`,
        ...files,
      ],
      testEnv,
    );
    return ok ? 0 : 1;
  } finally {
    await services.stop();
  }
}

async function runMigrate(config: AppConfig): Promise<void> {
  await ensureDatabase(config.clickhouse);
  const warehouse = createWarehouse(config.clickhouse);
  const redis = createRedis(config.redis);
  try {
    const result = await migrate(warehouse, redis);
    console.log(`applied: ${result.applied.join(', ') || '(none)'}; already applied: ${result.skipped.length}`);
  } finally {
    await warehouse.client.close();
    redis.disconnect();
  }
}

/**
 * `serve` / `start` once the config is checked: one process as before (`--workers 1`), or a primary that
 * applies the migrations once (rather than N processes queueing on the migration lock), then forks.
 */
async function serveWith(
  workers: number,
  config: AppConfig,
  services: LocalServices | null,
  env: Env,
  forkEnv: NodeJS.ProcessEnv = {},
): Promise<void> {
  const debugPid = env.SPENDHOUSE_DEBUG_PID === '1';
  if (workers === 1) return runServer(config, services, { forked: false, debugPid });
  await runMigrate(config);
  runServerProcesses({
    count: workers,
    env: forkEnv,
    onListening: (address) => printBanner(config, address, services, workers),
    onStopped: async () => {
      await services?.stop();
    },
  });
}

function workersOrExit(value: string | undefined, fallback: number | 'auto'): number {
  const workers = parseWorkerCount(value, fallback);
  if (workers instanceof Error) {
    console.error(workers.message);
    process.exit(2);
  }
  return workers;
}

type OwnArgumentsCli = (args: string[], load: (path?: string) => AppConfig) => Promise<number>;
/** Commands that parse their own arguments, loaded only when run. */
const OWN_ARGUMENT_COMMANDS: Record<string, () => Promise<OwnArgumentsCli>> = {
  archive: async () => (await import('../archive/cli.js')).runArchiveCli,
  reprice: async () => (await import('../reprice/cli.js')).runRepriceCli,
  showback: async () => (await import('./showback.js')).runShowbackCli,
};

async function main(): Promise<void> {
  // `archive` (--from, --to, …), `reprice` (--from, --to, --model, --dry-run, …: src/reprice/cli.ts) and
  // `showback` (--team, --month, --format, --out: ./showback.ts) have their own options, so they take the
  // raw arguments.
  const ownArgs = OWN_ARGUMENT_COMMANDS[process.argv[2] ?? ''];
  if (ownArgs) {
    const env: Env = { ...process.env };
    const load = (path?: string) => loadOrExit(configPathFrom({ config: path }, env, true), env, undefined, true);
    const run = await ownArgs();
    process.exitCode = await run(process.argv.slice(3), load).catch((err: Error) => {
      console.error(`${process.argv[2]}: ${err.message}`);
      return 1;
    });
    return;
  }
  const { command, rest, values } = parseCli(process.argv.slice(2));
  const env: Env = { ...process.env };
  if (values.port) env.PORT = values.port;
  switch (command) {
    case 'start': {
      // One process unless asked: a laptop's dev run gains nothing from a process per core but boot time,
      // memory and interleaved logs; the local ClickHouse/Redis it starts belong to that one process.
      const workers = workersOrExit(values.workers, 1);
      const configPath = configPathFrom(values, env, true);
      if (cluster.isWorker) {
        // Forked by the primary below: it checked the config and passed the local services' URLs in env.
        const config = loadOrExit(configPath, env, values.role, true);
        await runServer(config, null, { forked: true, debugPid: env.SPENDHOUSE_DEBUG_PID === '1' });
        return;
      }
      ensureDashboardBuilt();
      // Checked before local ClickHouse/Redis are started, so a refusal is quick and leaves nothing running.
      const config = loadOrExit(configPath, env, values.role, true);
      enforceExposure(checkStartExposure(config));
      const services = await ensureLocalServices(ROOT, env);
      await serveWith(
        workers,
        {
          ...config,
          clickhouse: { ...config.clickhouse, url: services.clickhouseUrl },
          redis: { ...config.redis, url: services.redisUrl },
        },
        services,
        env,
        { CLICKHOUSE_URL: services.clickhouseUrl, REDIS_URL: services.redisUrl },
      );
      return;
    }
    case 'serve': {
      const workers = workersOrExit(values.workers, 'auto');
      const config = loadOrExit(configPathFrom(values, env, false), env, values.role, false);
      if (cluster.isWorker) {
        await runServer(config, null, { forked: true, debugPid: env.SPENDHOUSE_DEBUG_PID === '1' });
        return;
      }
      enforceExposure(checkServeExposure(config));
      await serveWith(workers, config, null, env);
      return;
    }
    case 'migrate': {
      const configPath = configPathFrom(values, env, true);
      await runMigrate(loadOrExit(configPath, env, values.role, true));
      return;
    }
    case 'test':
      process.exit(await runTests(rest));
      return;
    case 'import':
    case 'dlq': {
      const config = loadOrExit(configPathFrom(values, env, true), env, values.role, true);
      const { runIngestCli } = await import('../ingest/cli.js');
      process.exitCode = await runIngestCli(command, rest, config);
      return;
    }
    default:
      console.error(
        `unknown command "${command}". Commands: start, serve, migrate, archive, reprice, showback, import, dlq, test`,
      );
      process.exit(2);
  }
}

await main();
