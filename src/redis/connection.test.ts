// The Redis URL forms (docs/scaling.md, "Redis URLs"): what each parses to, the prefixes a cluster gets,
// and the errors bad URLs give (naming the setting). The real servers are exercised by the cluster suite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bullKeyPrefix, bullRedisOptions, effectiveKeyPrefix, parseRedisUrl } from './connection.js';

test('one server, Sentinel and Cluster URLs', () => {
  assert.deepEqual(parseRedisUrl('rediss://u:p@h:6380/2'), { kind: 'single', url: 'rediss://u:p@h:6380/2' });
  assert.deepEqual(parseRedisUrl('redis-sentinel://:s%40cret@s1:26379,s2/mymaster/3'), {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26379 },
    ],
    name: 'mymaster',
    db: 3,
    password: 's@cret',
  });
  assert.deepEqual(parseRedisUrl('redis-cluster://app:pw@n1:7000,n2:7001,n3'), {
    kind: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
      { host: 'n3', port: 6379 },
    ],
    username: 'app',
    password: 'pw',
  });
});

test('userinfo without a colon is a user name in every form, as ioredis and BullMQ read redis://', () => {
  assert.deepEqual(parseRedisUrl('redis-cluster://app@n1:7000'), {
    kind: 'cluster',
    nodes: [{ host: 'n1', port: 7000 }],
    username: 'app',
  });
  assert.equal(bullRedisOptions('redis://app@h:6379').username, 'app');
  assert.equal(bullRedisOptions('redis://app@h:6379').password, undefined);
  assert.equal(bullRedisOptions('redis-cluster://app@n1:7000').username, 'app');
  assert.equal(bullRedisOptions('redis-cluster://app@n1:7000').password, undefined);
  assert.equal(bullRedisOptions('redis-sentinel://:pw@s1/m').password, 'pw');
});

test('bad URLs name the setting and say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['http://h:6379', /redis\.url \(REDIS_URL\): unknown scheme "http"/],
    ['redis-sentinel://s1:26379', /<master name>/],
    ['redis-sentinel://s1:26379/m/x', /database "x"/],
    ['redis-cluster://n1:7000/0', /no database/],
    ['redis-cluster://n1:99999', /"n1:99999" is not host\[:port\]/],
  ];
  for (const [url, message] of cases) assert.throws(() => parseRedisUrl(url), message, url);
});

test('a bad URL never shows its password', () => {
  for (const url of [':s3cret@host:6379', 'redis//:s3cret@h', 'redis-sentinel://:p%zz-s3cret@s1:26379/m']) {
    assert.throws(
      () => parseRedisUrl(url),
      (err: Error) => err.message.startsWith('redis.url (REDIS_URL)') && !err.message.includes('s3cret'),
      url,
    );
  }
});

test('on a cluster the app prefix and the queue prefix are hash tags; elsewhere they stay as configured', () => {
  const cluster = 'redis-cluster://n1:7000';
  assert.equal(effectiveKeyPrefix(cluster, 'spendhouse:'), '{spendhouse:}');
  assert.equal(effectiveKeyPrefix(cluster, '{tenant-a}:'), '{tenant-a}:');
  assert.throws(() => effectiveKeyPrefix(cluster, ''), /redis\.key_prefix/);
  assert.equal(bullKeyPrefix(cluster, 'spendhouse:'), '{spendhouse:bull}');
  assert.equal(effectiveKeyPrefix('redis://h', 'spendhouse:'), 'spendhouse:');
  assert.equal(bullKeyPrefix('redis-sentinel://s/m', 'spendhouse:'), 'spendhouse:bull');
});

test('BullMQ options: one server from the URL, Sentinel fields, cluster nodes', () => {
  assert.deepEqual(bullRedisOptions('redis://u:p@h:6390/4'), {
    maxRetriesPerRequest: null,
    host: 'h',
    port: 6390,
    username: 'u',
    password: 'p',
    db: 4,
    tls: undefined,
  });
  const sentinel = bullRedisOptions('redis-sentinel://s1:26379/mymaster');
  assert.deepEqual(
    [sentinel.sentinels, sentinel.name, sentinel.maxRetriesPerRequest],
    [[{ host: 's1', port: 26379 }], 'mymaster', null],
  );
  assert.deepEqual(bullRedisOptions('redis-cluster://n1:7000').clusterNodes, [{ host: 'n1', port: 7000 }]);
});
