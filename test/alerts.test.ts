// Alert webhooks to a local receiver (node:http on port 0): a soft-budget crossing through the proxy fires
// exactly one Slack-compatible alert, a hard budget hit alerts once however many calls it refuses, and the
// operational checks (dead letters, ingest lag, archive failing) alert once per window across repeated
// checks and instances (Redis SET NX).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { operationalAlerts } from '../src/alerts/checks.js';
import { type AlertEvent, AlertNotifier, slackEscape } from '../src/alerts/notifier.js';
import { pollUntil } from '../src/retry.js';
import { HOUSE_PRICES, type ProxyHarness, startProxyHarness } from './helpers/fakeUpstreamProxy.js';
import { TEST_MASTER_KEY } from './helpers/testApp.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';

interface Alert {
  text: string;
  event: string;
  [field: string]: unknown;
}

const received: Alert[] = [];
/** Every send the app's notifier was asked for (sent or de-duplicated), to await before counting deliveries. */
const sends: { event: string; sent: Promise<boolean> }[] = [];
const receiver = webhookReceiver(received);

let h: ProxyHarness;
before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  h = await startProxyHarness((fake) => ({
    alerts: { webhook_url: `http://127.0.0.1:${port}/hook`, check_interval_seconds: 1, ingest_lag_seconds: 1 },
    model_list: [
      {
        model_name: 'house-gpt',
        litellm_params: { model: 'openai/house-model', api_base: `${fake}/v1`, api_key: 'sk-upstream' },
        model_info: HOUSE_PRICES,
      },
    ],
  }));
  const send = h.app.alerts.send.bind(h.app.alerts);
  h.app.alerts.send = (alert: AlertEvent) => {
    const sent = send(alert);
    sends.push({ event: alert.event, sent });
    return sent;
  };
});
after(async () => {
  await h.close();
  receiver.close();
});

const alertsOf = (event: string) => received.filter((a) => a.event === event);

async function waitFor(event: string, count: number): Promise<void> {
  await pollUntil(async () => alertsOf(event).length >= count, {
    everyMs: 10,
    timeoutMs: 10_000,
    timeoutError: () => new Error(`${count} ${event} alert(s) never arrived`),
  });
}

/** Every send asked for so far has claimed (or lost) its event and delivered: nothing more can arrive from it. */
async function settled(): Promise<void> {
  await Promise.all(sends.map((s) => s.sent));
  await h.app.alerts.drain();
}

const sendsOf = (event: string) => sends.filter((s) => s.event === event).length;

async function teamKey(body: Record<string, unknown>): Promise<string> {
  const post = (url: string, payload: unknown) =>
    fetch(`${h.origin}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
  const team = await post('/team/new', body);
  const key = await post('/key/generate', { team_id: team.team_id });
  return String(key.key);
}

const call = (key: string) =>
  h
    .openai(key)
    .chat.completions.create({ model: 'house-gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 })
    .then(
      () => 200,
      (err: { status?: number }) => err.status ?? 0,
    );

test('a soft-budget crossing through the proxy fires exactly one webhook', async () => {
  h.fake.setDefaults({ usage: { promptTokens: 1000, completionTokens: 500 } });
  const key = await teamKey({ team_alias: 'soft-team', max_budget: 1, soft_budget: 0.003 });
  // $0.002 per call: the second crosses $0.003; the third and fourth stay over it.
  for (let i = 0; i < 4; i++) assert.equal(await call(key), 200);
  // Each call settles before its answer ends (so before `call` returns): every alert it asks for was asked.
  await waitFor('soft_budget_crossed', 1);
  assert.ok(sendsOf('soft_budget_crossed') >= 1);
  await settled();
  const soft = alertsOf('soft_budget_crossed');
  assert.equal(soft.length, 1);
  assert.equal(
    soft[0]?.text,
    'Soft budget crossed: team soft-team spent $0.004 of its $0.003 soft budget, max budget $1.00',
  );
  assert.deepEqual([soft[0]?.scope_type, soft[0]?.spend, soft[0]?.soft_budget], ['team', '0.004000000', '0.003000000']);
});

test('a hard budget hit alerts once however many calls it refuses', async () => {
  const key = await teamKey({ team_alias: 'hard-team', max_budget: 0.0025 });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push(await call(key));
  assert.deepEqual(statuses, [200, 429, 429, 429]);
  await waitFor('hard_budget_hit', 1);
  assert.equal(sendsOf('hard_budget_hit'), 3, 'each refusal asks for the alert');
  await settled();
  const hard = alertsOf('hard_budget_hit');
  assert.equal(hard.length, 1);
  assert.match(
    hard[0]?.text ?? '',
    /^Hard budget hit: team hard-team has spent \$0\.002\d* of \$0\.0025; calls are refused$/,
  );
});

test('caller-chosen names reach the webhook with Slack mentions escaped (text only; the fields stay exact)', async () => {
  const alias = '<!channel> & <@U0123|boss>';
  const key = await teamKey({ team_alias: alias, max_budget: 0.0025 });
  assert.deepEqual([await call(key), await call(key)], [200, 429]);
  await pollUntil(async () => alertsOf('hard_budget_hit').some((a) => a.label === `team ${alias}`), {
    everyMs: 10,
    timeoutMs: 10_000,
    timeoutError: () => new Error('the escaped hard_budget_hit alert never arrived'),
  });
  const hit = alertsOf('hard_budget_hit').find((a) => a.label === `team ${alias}`);
  assert.match(
    hit?.text ?? '',
    /^Hard budget hit: team &lt;!channel&gt; &amp; &lt;@U0123\|boss&gt; has spent \$0\.002\d* of \$0\.0025; calls are refused$/,
  );
  assert.ok(!/[<>]/.test(hit?.text ?? ''), hit?.text);
  assert.equal(slackEscape('a < b && c > d'), 'a &lt; b &amp;&amp; c &gt; d');
});

test('dead letters and ingest lag: the periodic checks alert once each, not once per check', async () => {
  await h.app.deadLetters.add('batch-1', 'ingest', [{ stage: 'validation', reason: 'test', record: { x: 1 } }]);
  // No worker runs in this harness: a queued batch only ages.
  const [record] = h.sink.records;
  assert.ok(record);
  await h.app.spendProducer.enqueue([{ ...record, request_id: 'lagging-record' }], 'ingest');
  await waitFor('dead_letters_present', 1);
  await waitFor('ingest_lag', 1);
  // Two more check rounds (every second) ask for both again; neither is delivered twice.
  const rounds = sendsOf('ingest_lag') + 2;
  await pollUntil(async () => sendsOf('dead_letters_present') >= rounds && sendsOf('ingest_lag') >= rounds, {
    everyMs: 50,
    timeoutMs: 15_000,
  });
  await settled();
  assert.equal(alertsOf('dead_letters_present').length, 1);
  assert.equal(alertsOf('ingest_lag').length, 1);
  assert.equal(alertsOf('dead_letters_present')[0]?.dead_letters, 1);
  assert.match(
    alertsOf('ingest_lag')[0]?.text ?? '',
    /^Spend ingest is lagging: the oldest queued record is \d+ s old/,
  );
});

test('archive failing is an alert; two instances sending the same event deliver it once', async () => {
  const events = await operationalAlerts(
    { ingestLagSeconds: async () => 0, deadLetterCount: async () => 0, archiveError: () => 'archive store: 503' },
    300,
  );
  assert.deepEqual(
    events.map((e) => [e.event, e.text]),
    [['archive_failing', 'Archive passes are failing: archive store: 503']],
  );
  const { port } = receiver.address() as AddressInfo;
  const options = { url: `http://127.0.0.1:${port}/hook`, dedupSeconds: 60, log: h.app.log };
  const [first, second] = [new AlertNotifier(h.app.redis, options), new AlertNotifier(h.app.redis, options)];
  const event = events[0];
  assert.ok(event);
  assert.deepEqual(await Promise.all([first.send(event), second.send(event)]).then((r) => r.sort()), [false, true]);
  await Promise.all([first.drain(), second.drain()]);
  assert.equal(alertsOf('archive_failing').length, 1);
});
