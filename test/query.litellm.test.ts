// LiteLLM-compatible read endpoints: response shapes LiteLLM scripts parse, values, and key scoping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashKey } from '../src/auth/principal.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { BASE_MS, type CallRow, HOUR_MS, insertCalls } from './query.fixtures.js';

const ALICE = 'sk-alice-0123456789';
const BOB = 'sk-bob-0123456789';
const DAY = 24 * HOUR_MS;
const calls: CallRow[] = [
  {
    request_id: 'a1',
    start_ms: BASE_MS + HOUR_MS,
    key: ALICE,
    team: 'growth',
    user: 'u1',
    model: 'gpt-4o',
    cost_nano: 1_500_000_000,
    prompt_tokens: 100,
    completion_tokens: 50,
    tags: ['onboarding', 'prod'],
  },
  {
    request_id: 'a2',
    start_ms: BASE_MS + 2 * HOUR_MS,
    key: ALICE,
    team: 'growth',
    user: 'u1',
    customer: 'acme',
    model: 'gpt-4o-mini',
    cost_nano: 250_000_000,
    tags: ['onboarding'],
    status: 500,
  },
  {
    request_id: 'b1',
    start_ms: BASE_MS + DAY + HOUR_MS,
    key: BOB,
    team: 'search',
    user: 'u2',
    customer: 'acme',
    model: 'gpt-4o',
    cost_nano: 3_000_000_000,
    tags: ['prod', 'search'],
  },
  { request_id: 'n1', start_ms: BASE_MS + DAY + 2 * HOUR_MS, user: 'u3', model: 'gpt-4o', cost_nano: 1, tags: [] },
];
const RANGE = 'start_date=2026-10-05&end_date=2026-10-06';

describe('LiteLLM-compatible endpoints', () => {
  let t: TestApp;
  const get = async (url: string, key = TEST_MASTER_KEY) => {
    const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.statusCode, 200, `${url} → ${res.body}`);
    return res.json();
  };

  before(async () => {
    t = await startTestApp(
      testConfig({
        keys: [
          { key: ALICE, team_id: 'growth' },
          { key: BOB, team_id: 'search' },
        ],
      }),
    );
    await insertCalls(t.app.warehouse, calls);
  });
  after(async () => t?.close());

  it('/global/spend/report group_by=team: days → teams → model/key metadata', async () => {
    const body = await get(`/global/spend/report?${RANGE}&group_by=team`);
    assert.equal(body.length, 2);
    assert.equal(body[0].group_by_day, '2026-10-05T00:00:00+00:00');
    assert.deepEqual(body[0].teams, [
      {
        team_name: 'growth',
        total_spend: 1.75,
        total_spend_nano: 1_750_000_000,
        metadata: [
          { model: 'gpt-4o', api_key: hashKey(ALICE), spend: 1.5, total_tokens: 150 },
          { model: 'gpt-4o-mini', api_key: hashKey(ALICE), spend: 0.25, total_tokens: 15 },
        ],
      },
    ]);
    const names = body[1].teams.map((x: { team_name: string }) => x.team_name).sort();
    assert.deepEqual(names, ['Unassigned Team', 'search']);
  });

  it('/global/spend/report group_by=customer and api_key', async () => {
    const customers = await get(`/global/spend/report?${RANGE}&group_by=customer`);
    assert.ok(customers[0].customers.some((c: { customer: string | null }) => c.customer === 'acme'));
    const keys = await get(`/global/spend/report?${RANGE}&group_by=api_key`);
    assert.equal(keys[0].api_key, hashKey(BOB));
    assert.equal(keys[0].total_cost, 3);
    assert.deepEqual(Object.keys(keys[0]).sort(), [
      'api_key',
      'model_details',
      'total_cost',
      'total_cost_nano',
      'total_input_tokens',
      'total_output_tokens',
    ]);
    const byKey = await get(`/global/spend/report?${RANGE}&api_key=${ALICE}`);
    assert.equal(byKey.length, 1);
    assert.equal(byKey[0].total_input_tokens, 110);
  });

  it('/spend/tags and /global/spend/tags', async () => {
    const tags = await get('/spend/tags');
    assert.deepEqual(
      tags.map((x: { individual_request_tag: string; log_count: number }) => [x.individual_request_tag, x.log_count]),
      [
        ['prod', 2],
        ['search', 1],
        ['onboarding', 2],
      ],
    );
    const global = await get(`/global/spend/tags?${RANGE}&tags=onboarding,search`);
    assert.deepEqual(global, {
      spend_per_tag: [
        { name: 'search', spend: 3, spend_nano: 3_000_000_000, log_count: 1 },
        { name: 'onboarding', spend: 1.75, spend_nano: 1_750_000_000, log_count: 2 },
      ],
    });
    const missing = await t.app.inject({
      method: 'GET',
      url: '/global/spend/tags',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(missing.statusCode, 400);
  });

  it('/{team,tag,customer,user}/daily/activity in SpendAnalyticsPaginatedResponse shape', async () => {
    const team = await get(`/team/daily/activity?${RANGE}&team_ids=growth`);
    assert.equal(team.results.length, 1);
    const day = team.results[0];
    assert.equal(day.date, '2026-10-05');
    assert.equal(day.metrics.api_requests, 2);
    assert.equal(day.metrics.failed_requests, 1);
    assert.equal(day.metrics.successful_requests, 1);
    assert.equal(day.metrics.spend, 1.75);
    assert.deepEqual(Object.keys(day.breakdown.models).sort(), ['gpt-4o', 'gpt-4o-mini']);
    assert.equal(day.breakdown.entities.growth.metrics.spend_nano, 1_750_000_000);
    assert.equal(day.breakdown.api_keys[hashKey(ALICE)].metadata.team_id, 'growth');
    assert.equal(team.metadata.total_spend_nano, 1_750_000_000);
    assert.equal(team.metadata.has_more, false);

    const tag = await get(`/tag/daily/activity?${RANGE}`);
    // Tag entities overlap (a1 is in two); the day's metrics count each call once.
    assert.equal(tag.results[0].breakdown.entities.onboarding.metrics.api_requests, 2);
    assert.equal(tag.results[0].breakdown.entities.prod.metrics.api_requests, 1);
    assert.equal(tag.results[0].metrics.api_requests, 2);
    assert.equal(tag.metadata.total_api_requests, 4);

    const customer = await get(`/customer/daily/activity?${RANGE}&end_user_ids=acme`);
    assert.equal(customer.metadata.total_spend_nano, 3_250_000_000);
    const user = await get(`/user/daily/activity?${RANGE}&user_id=u2`);
    assert.equal(user.metadata.total_spend_nano, 3_000_000_000);
  });

  it('/spend/logs: per-day summary, single request, and individual logs', async () => {
    const summary = await get(`/spend/logs?${RANGE}`);
    assert.deepEqual(summary[0], {
      startTime: '2026-10-05',
      spend: 1.75,
      spend_nano: 1_750_000_000,
      users: { u1: 1.75 },
      models: { 'gpt-4o': 1.5, 'gpt-4o-mini': 0.25 },
      [hashKey(ALICE)]: 1.75,
    });
    const one = await get('/spend/logs?request_id=b1');
    assert.equal(one.length, 1);
    assert.equal(one[0].spend, 3);
    assert.equal(one[0].api_key, hashKey(BOB));
    assert.deepEqual(one[0].request_tags, ['prod', 'search']);
    assert.deepEqual(await get('/spend/logs?request_id=nope'), []);
    const raw = await get(`/spend/logs?${RANGE}&summarize=false`);
    assert.deepEqual(
      raw.map((r: { request_id: string }) => r.request_id),
      ['n1', 'b1', 'a2', 'a1'],
    );
  });

  it('scopes every endpoint to the calling key', async () => {
    const report = await get(`/global/spend/report?${RANGE}&group_by=api_key`, ALICE);
    assert.deepEqual(
      report.map((r: { api_key: string }) => r.api_key),
      [hashKey(ALICE)],
    );
    const tags = await get('/spend/tags', ALICE);
    assert.deepEqual(tags.map((x: { individual_request_tag: string }) => x.individual_request_tag).sort(), [
      'onboarding',
      'prod',
    ]);
    const activity = await get(`/team/daily/activity?${RANGE}`, ALICE);
    assert.equal(activity.metadata.total_spend_nano, 1_750_000_000);
    const logs = await get(`/spend/logs?${RANGE}&summarize=false`, ALICE);
    assert.deepEqual(logs.map((r: { request_id: string }) => r.request_id).sort(), ['a1', 'a2']);
    const bobs = await t.app.inject({
      method: 'GET',
      url: '/spend/logs/v2/b1',
      headers: { authorization: `Bearer ${ALICE}` },
    });
    assert.equal(bobs.statusCode, 404);
  });
});
