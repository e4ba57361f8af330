// Config loading: LiteLLM-shaped YAML, os.environ references, env overrides, path-named errors, warnings.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, readConfigFile } from '../src/config/load.js';

function writeYaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'spendhouse-config-'));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, text);
  return path;
}

const LITELLM_CONFIG = `
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 600
      tpm: 100000
  - model_name: claude-3-5-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: os.environ/ANTHROPIC_API_KEY
    model_info:
      input_cost_per_token: 0.000003
      output_cost_per_token: 0.000015
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY_FROM_FILE
  database_url: postgresql://llm:llm@localhost/litellm
  spend_logs_max_age: 90d
  store_prompts_in_spend_logs: true
  proxy_batch_write_at: 60
litellm_settings:
  callbacks: ["s3"]
  s3_callback_params:
    s3_bucket_name: spend-archive
    s3_region_name: us-east-1
  set_verbose: true
`;

test('a LiteLLM config.yaml loads, with os.environ references and env overrides', () => {
  const path = writeYaml(LITELLM_CONFIG);
  const config = loadConfig({
    configPath: path,
    env: {
      OPENAI_API_KEY: 'sk-openai',
      ANTHROPIC_API_KEY: 'sk-ant',
      LITELLM_MASTER_KEY_FROM_FILE: 'sk-master-from-file',
      PORT: '4555',
      CLICKHOUSE_URL: 'http://ch.example:8123',
      CLICKHOUSE_DATABASE: 'spend_b',
      REDIS_URL: 'redis://cache:6380/3',
    },
  });
  assert.equal(config.port, 4555);
  assert.equal(config.masterKey, 'sk-master-from-file');
  assert.equal(config.uiPassword, 'sk-master-from-file', 'UI_PASSWORD defaults to the master key');
  assert.equal(config.models[0]?.litellm_params.api_key, 'sk-openai');
  assert.equal(config.models[1]?.model_info?.output_cost_per_token, 0.000015);
  assert.equal(config.clickhouse.url, 'http://ch.example:8123');
  assert.equal(config.clickhouse.database, 'spend_b');
  assert.equal(config.redis.url, 'redis://cache:6380/3');
  assert.equal(config.spendLogsMaxAge, '90d');
  assert.equal(config.storePrompts, true);
  assert.equal(config.file.litellm_settings.s3_callback_params?.s3_bucket_name, 'spend-archive');
  assert.deepEqual(config.warnings.sort(), [
    'general_settings.database_url: Spendhouse keeps spend and keys in ClickHouse, not Postgres; this URL is not used (set CLICKHOUSE_URL instead)',
    'general_settings.proxy_batch_write_at: not supported by Spendhouse, ignored',
    'litellm_settings.set_verbose: not supported by Spendhouse, ignored',
  ]);
});

test('MASTER_KEY beats LITELLM_MASTER_KEY beats the file', () => {
  const path = writeYaml('general_settings:\n  master_key: sk-file-key-123\n');
  assert.equal(loadConfig({ configPath: path, env: {} }).masterKey, 'sk-file-key-123');
  assert.equal(loadConfig({ configPath: path, env: { LITELLM_MASTER_KEY: 'sk-litellm-1' } }).masterKey, 'sk-litellm-1');
  assert.equal(
    loadConfig({ configPath: path, env: { LITELLM_MASTER_KEY: 'sk-litellm-1', MASTER_KEY: 'sk-ours-12' } }).masterKey,
    'sk-ours-12',
  );
});

test('a malformed config fails fast listing every problem by path', () => {
  const path = writeYaml(`
model_list:
  - model_name: a
    litellm_params:
      model: openai/a
  - model_name: b
    litellm_params:
      api_base: not a url
  - model_name: c
    litellm_params:
      model: openai/c
      rpm: -5
general_settings:
  master_key: os.environ/MISSING_VAR
  spend_logs_max_age: ninety days
`);
  assert.throws(
    () => readConfigFile(path, {}),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      assert.match(text, /general_settings\.master_key: environment variable MISSING_VAR is not set/);
      assert.match(text, /model_list\[1\]\.litellm_params\.model: required/);
      assert.match(text, /model_list\[1\]\.litellm_params\.api_base: /);
      assert.match(text, /model_list\[2\]\.litellm_params\.rpm: /);
      assert.match(text, /general_settings\.spend_logs_max_age: a duration/);
      assert.equal(err.problems.length, 5, text);
      return true;
    },
  );
});

test('bad YAML, a missing file and a missing master key are clear errors', () => {
  assert.throws(() => readConfigFile(writeYaml('model_list: [\n'), {}), /not valid YAML/);
  assert.throws(() => readConfigFile('/nonexistent/config.yaml', {}), /cannot read file/);
  assert.throws(() => loadConfig({ configPath: null, env: {} }), /master_key: required/);
  assert.throws(() => loadConfig({ configPath: null, env: { MASTER_KEY: 'sk-1234567', PORT: 'abc' } }), /PORT/);
});

test('the shipped example and demo configs are valid and use only supported keys', () => {
  for (const file of ['config.example.yaml', 'config.demo.yaml']) {
    const env = new Proxy({} as Record<string, string>, { get: (_t, name) => `value-of-${String(name)}` });
    const { warnings } = readConfigFile(join(import.meta.dirname, '..', file), env);
    assert.deepEqual(warnings, [], `${file} has unsupported keys`);
  }
});

test('a value of the wrong type is named as such, not reported as missing', () => {
  const path = writeYaml(`
model_list:
  - model_name: a
    litellm_params:
      model: openai/a
      rpm: fast
      tpm: 1.5
general_settings:
  master_key: sk-config-test-0123456789
  store_prompts_in_spend_logs: "yes"
`);
  assert.throws(
    () => readConfigFile(path, {}),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      // zod 4 keeps no `input` on its issues: each of these used to read "<path>: required".
      assert.deepEqual(err.problems, [
        'model_list[0].litellm_params.rpm: expected an integer, got string',
        'model_list[0].litellm_params.tpm: expected an integer, got 1.5',
        'general_settings.store_prompts_in_spend_logs: expected true or false, got string',
      ]);
      return true;
    },
  );
});

test('the listen address defaults to loopback; PUBLIC_URL / server.public_url give the dashboard origin', () => {
  const env = { MASTER_KEY: 'sk-master-from-env' };
  assert.equal(loadConfig({ configPath: null, env }).host, '127.0.0.1');
  assert.equal(loadConfig({ configPath: null, env: { ...env, HOST: '0.0.0.0' } }).host, '0.0.0.0');
  assert.equal(loadConfig({ configPath: writeYaml('server:\n  host: "::"\n'), env }).host, '::');
  assert.equal(loadConfig({ configPath: null, env }).publicOrigin, null);
  const fromFile = loadConfig({ configPath: writeYaml('server:\n  public_url: https://spend.example.com/ui/\n'), env });
  assert.equal(fromFile.publicOrigin, 'https://spend.example.com');
  const fromEnv = loadConfig({ configPath: null, env: { ...env, PUBLIC_URL: 'http://10.0.0.5:4000/' } });
  assert.equal(fromEnv.publicOrigin, 'http://10.0.0.5:4000');
  assert.throws(() => loadConfig({ configPath: null, env: { ...env, PUBLIC_URL: 'spend.example.com' } }), /PUBLIC_URL/);
  assert.equal(loadConfig({ configPath: null, env }).masterKeySource, 'MASTER_KEY');
  assert.equal(
    loadConfig({ configPath: null, env: {}, fallbackMasterKey: 'sk-demo-x' }).masterKeySource,
    'demo default',
  );
});
