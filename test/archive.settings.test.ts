// Archive settings from the config file: the local-folder default, LiteLLM's S3 callback, window rules,
// and the object layout they produce. Pure functions, no services.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectKey, parseInstant, windowStartOf } from '../src/archive/layout.js';
import { describeTarget, resolveArchiveSettings } from '../src/archive/settings.js';
import { ConfigError, validateFileConfig } from '../src/config/load.js';

function settings(yaml: Record<string, unknown>, env: Record<string, string> = {}) {
  return resolveArchiveSettings(validateFileConfig(yaml, env, 'test').config, '/srv/app');
}

test('no S3 configured: the local folder .data/archive/, both formats, 1h windows, zstd', () => {
  const s = settings({});
  assert.deepEqual(s.target, { kind: 'local', root: '/srv/app/.data/archive' });
  assert.deepEqual(s.formats, ['parquet', 'jsonl']);
  assert.equal(s.windowSeconds, 3600);
  assert.equal(s.compression, 'zstd');
  assert.equal(describeTarget(s), 'file:///srv/app/.data/archive');
});

test('LiteLLM s3 callback with os.environ references selects S3 with path-style for custom endpoints', () => {
  const s = settings(
    {
      litellm_settings: {
        callbacks: ['s3'],
        s3_callback_params: {
          s3_bucket_name: 'spend',
          s3_endpoint_url: 'http://minio:9000',
          s3_path: '/team/archive/',
          s3_aws_access_key_id: 'os.environ/KEY',
          s3_aws_secret_access_key: 'os.environ/SECRET',
        },
      },
    },
    { KEY: 'AKIA', SECRET: 'shh' },
  );
  assert.deepEqual(s.target, {
    kind: 's3',
    bucket: 'spend',
    region: 'us-east-1',
    endpoint: 'http://minio:9000',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIA', secretAccessKey: 'shh' },
  });
  assert.equal(s.prefix, 'team/archive');
  assert.equal(describeTarget(s), 's3://spend/team/archive');
});

test('s3_callback_params without the s3 callback keeps the local folder (LiteLLM semantics)', () => {
  const s = settings({ litellm_settings: { s3_callback_params: { s3_bucket_name: 'spend' } } });
  assert.equal(s.target.kind, 'local');
});

test('windows must tile an hour; bad values name the key', () => {
  assert.equal(settings({ archive: { window: '15m' } }).windowSeconds, 900);
  assert.throws(() => settings({ archive: { window: '7m' } }), /archive\.window: must divide one hour/);
  assert.throws(() => settings({ archive: { window: '2h' } }), /archive\.window/);
  assert.throws(() => settings({ archive: { interval: '0s' } }), /archive\.interval/);
  assert.throws(() => validateFileConfig({ archive: { formats: ['csv'] } }, {}, 'test'), ConfigError);
});

test('object keys: hive partitions by the hour a window starts in, one folder per format', () => {
  const start = Date.UTC(2026, 0, 5, 10, 15) / 1000;
  assert.equal(objectKey('p', start, 'parquet'), 'p/spend_logs/dt=2026-01-05/hour=10/part-20260105T1015Z.parquet');
  assert.equal(objectKey('', start, 'jsonl'), 'spend_logs_jsonl/dt=2026-01-05/hour=10/part-20260105T1015Z.jsonl.gz');
  assert.equal(windowStartOf(start + 899, 900), start);
  assert.equal(parseInstant('2026-01-05', '--from'), Date.UTC(2026, 0, 5) / 1000);
  assert.throws(() => parseInstant('yesterday', '--from'), /--from: not an ISO-8601/);
});
