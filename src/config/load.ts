// Boot-time config: read the YAML file, resolve `os.environ/NAME` references, validate with the one zod
// schema (every problem listed by path), turn unknown keys into named warnings, then apply env overrides.
// This module and the CLI are the only places that read the environment.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type ArchiveSettings, resolveArchiveSettings } from '../archive/settings.js';
import { type IngestSettings, resolveIngestSettings } from '../ingest/settings.js';
import { asError } from '../retry.js';
import { describeIssue, formatPath } from '../validation/describeIssue.js';
import { type FileConfig, fileConfigSchema, type ModelEntry, type Role, roleSchema } from './schema.js';

/** Every environment variable the app reads (documented in the README's configuration table). */
export const SUPPORTED_ENV_VARS = [
  'CONFIG_FILE_PATH',
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'SPENDHOUSE_ROLE',
  'MASTER_KEY',
  'LITELLM_MASTER_KEY',
  'UI_USERNAME',
  'UI_PASSWORD',
  'CLICKHOUSE_URL',
  'CLICKHOUSE_DATABASE',
  'CLICKHOUSE_USER',
  'CLICKHOUSE_PASSWORD',
  'CLICKHOUSE_CLUSTER',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'LOG_LEVEL',
] as const;

export interface AppConfig {
  configPath: string | null;
  logLevel: string;
  port: number;
  host: string;
  /** Origin of server.public_url / PUBLIC_URL (e.g. `https://spend.example.com`), or null. */
  publicOrigin: string | null;
  role: Role;
  masterKey: string;
  /** The setting the master key came from, named in the `serve` refusal of a weak key. */
  masterKeySource: MasterKeySource;
  uiUsername: string;
  uiPassword: string;
  bodyLimitBytes: number;
  /** server.trust_proxy, handed to fastify as `trustProxy` (false: the socket's address is the client). */
  trustProxy: boolean | number | string[];
  clickhouse: { url: string; database: string; username: string; password: string; cluster: string | null };
  redis: { url: string; keyPrefix: string };
  models: ModelEntry[];
  file: FileConfig;
  storePrompts: boolean;
  /** Raw spend log retention from `spend_logs_max_age` / `maximum_spend_logs_retention_period`. */
  spendLogsMaxAge: string | null;
  budgetFailMode: 'closed' | 'open';
  budgetTimezone: string;
  /** Closed-window archive to S3 or the local folder (src/archive/settings.ts). */
  archive: ArchiveSettings;
  /** Spend ingest pipeline knobs (src/ingest/settings.ts). */
  ingest: IngestSettings;
  warnings: string[];
}

export type MasterKeySource = 'MASTER_KEY' | 'LITELLM_MASTER_KEY' | 'general_settings.master_key' | 'demo default';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type Env = Record<string, string | undefined>;

/** Issue paths and messages have one home (src/validation/describeIssue.ts); re-exported for older imports. */
export { formatPath };

function resolveEnvRefs(value: unknown, env: Env, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('os.environ/')) {
    const name = value.slice('os.environ/'.length);
    const resolved = env[name];
    if (resolved === undefined) problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveEnvRefs(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function deleteAtPath(root: unknown, path: ReadonlyArray<PropertyKey>, key: string): void {
  let node: unknown = root;
  for (const part of path) {
    if (!node || typeof node !== 'object') return;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  if (node && typeof node === 'object') delete (node as Record<string, unknown>)[key];
}

/**
 * Validates a parsed file. Unknown keys are reported as warnings and dropped; any other issue is an error.
 * Returns every problem at once so a user fixes the file in one pass.
 */
export function validateFileConfig(raw: unknown, env: Env, source: string): { config: FileConfig; warnings: string[] } {
  const problems: string[] = [];
  const resolved = resolveEnvRefs(raw ?? {}, env, [], problems);
  const warnings: string[] = [];
  // Pass one drops unknown keys (each one a warning); pass two reports every remaining problem by path.
  const first = fileConfigSchema.safeParse(resolved);
  if (!first.success) {
    for (const issue of first.error.issues) {
      if (issue.code !== 'unrecognized_keys') continue;
      for (const key of issue.keys) {
        warnings.push(`${formatPath([...issue.path, key])}: not supported by Spendhouse, ignored`);
        deleteAtPath(resolved, issue.path, key);
      }
    }
  }
  const second = first.success ? first : fileConfigSchema.safeParse(resolved);
  if (!second.success) problems.push(...second.error.issues.map((issue) => describeIssue(issue).text));
  if (second.success && problems.length === 0) return { config: second.data, warnings };
  throw new ConfigError(source, problems);
}

export function readConfigFile(path: string, env: Env): { config: FileConfig; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read file: ${asError(err).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid YAML: ${asError(err).message}`]);
  }
  return validateFileConfig(raw, env, path);
}

function envInt(env: Env, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError('environment', [`${name}: not a valid port`]);
  return n;
}

function publicOriginOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.origin;
  } catch {
    // reported below
  }
  throw new ConfigError('environment', [
    'PUBLIC_URL (server.public_url): an http(s) URL like https://spend.example.com',
  ]);
}

export interface LoadOptions {
  configPath: string | null;
  env: Env;
  /** `npm start` without any key configured gets this demo key (printed at boot). */
  fallbackMasterKey?: string;
  roleOverride?: Role;
}

function archiveOrThrow(file: FileConfig, source: string | null): ArchiveSettings {
  try {
    return resolveArchiveSettings(file);
  } catch (err) {
    throw new ConfigError(source ?? 'defaults', [asError(err).message]);
  }
}

export function loadConfig(options: LoadOptions): AppConfig {
  const { config: file, warnings } = options.configPath
    ? readConfigFile(options.configPath, options.env)
    : validateFileConfig({}, options.env, 'defaults');
  return resolveConfig(file, warnings, options);
}

/** Applies env overrides and defaults to a validated file config (tests pass their file as an object). */
export function resolveConfig(file: FileConfig, warnings: string[], options: LoadOptions): AppConfig {
  const { env } = options;
  const gs = file.general_settings;
  if (gs.database_url) {
    warnings.push(
      'general_settings.database_url: Spendhouse keeps spend and keys in ClickHouse, not Postgres; this URL is not used (set CLICKHOUSE_URL instead)',
    );
  }
  // First set wins; the source is kept so `serve` can name the setting that holds a weak key.
  const masterKeyCandidates: [MasterKeySource, string | undefined][] = [
    ['MASTER_KEY', env.MASTER_KEY],
    ['LITELLM_MASTER_KEY', env.LITELLM_MASTER_KEY],
    ['general_settings.master_key', gs.master_key],
    ['demo default', options.fallbackMasterKey],
  ];
  const [masterKeySource, masterKey] = masterKeyCandidates.find(([, value]) => value) ?? [];
  if (!masterKey || !masterKeySource) {
    throw new ConfigError(options.configPath ?? 'environment', [
      'general_settings.master_key: required (or set MASTER_KEY / LITELLM_MASTER_KEY)',
    ]);
  }
  const roleEnv = env.SPENDHOUSE_ROLE ? roleSchema.safeParse(env.SPENDHOUSE_ROLE) : undefined;
  if (roleEnv && !roleEnv.success) throw new ConfigError('environment', ['SPENDHOUSE_ROLE: one of all, proxy, worker']);
  return {
    configPath: options.configPath,
    logLevel: env.LOG_LEVEL || 'info',
    port: envInt(env, 'PORT') ?? file.server.port ?? 4000,
    // Loopback unless asked: a fresh `npm start` must not be reachable from the network (docs: README, HOST).
    host: env.HOST || file.server.host || '127.0.0.1',
    publicOrigin: publicOriginOf(env.PUBLIC_URL || file.server.public_url),
    role: options.roleOverride ?? roleEnv?.data ?? file.server.role ?? 'all',
    masterKey,
    masterKeySource,
    uiUsername: env.UI_USERNAME || file.server.ui_username || 'admin',
    uiPassword: env.UI_PASSWORD || file.server.ui_password || masterKey,
    bodyLimitBytes: file.server.body_limit_bytes ?? 10 * 1024 * 1024,
    trustProxy: file.server.trust_proxy ?? false,
    clickhouse: {
      url: env.CLICKHOUSE_URL || file.clickhouse.url || 'http://127.0.0.1:8123',
      database: env.CLICKHOUSE_DATABASE || file.clickhouse.database || 'spendhouse',
      username: env.CLICKHOUSE_USER || file.clickhouse.username || 'default',
      password: env.CLICKHOUSE_PASSWORD ?? file.clickhouse.password ?? '',
      cluster: env.CLICKHOUSE_CLUSTER || file.clickhouse.cluster || null,
    },
    redis: {
      url: env.REDIS_URL || file.redis.url || 'redis://127.0.0.1:6379',
      keyPrefix: env.REDIS_KEY_PREFIX ?? file.redis.key_prefix ?? 'spendhouse:',
    },
    models: file.model_list,
    file,
    storePrompts: gs.store_prompts_in_spend_logs ?? false,
    spendLogsMaxAge: gs.spend_logs_max_age ?? gs.maximum_spend_logs_retention_period ?? null,
    budgetFailMode: file.budgets.fail_mode ?? 'closed',
    budgetTimezone: file.budgets.timezone ?? 'UTC',
    archive: archiveOrThrow(file, options.configPath),
    ingest: resolveIngestSettings(file),
    warnings,
  };
}
