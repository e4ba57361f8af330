// Lifetime budgets (no budget_duration) have one period for good: a threshold crossed, a soft budget
// crossed or a hard budget hit is told once for the life of the budget amount — not again a month later —
// and a new amount re-arms it. Periodic budgets keep their period's start and end. Real Redis (SET NX with
// its TTL) and a local webhook receiver.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { budgetAlertSender, LIFETIME_DEDUP_SECONDS } from '../src/alerts/budgetAlerts.js';
import { budgetWatchAlerts } from '../src/alerts/budgetWatchAlerts.js';
import { type AlertEvent, AlertNotifier } from '../src/alerts/notifier.js';
import { hardBudgetAlert } from '../src/budgets/alerts.js';
import type { BudgetScope } from '../src/budgets/scopes.js';
import type { BudgetStatus } from '../src/budgetWatch/budgetWatch.js';
import { LIFETIME, type Period } from '../src/periods.js';
import { webhookReceiver } from './helpers/webhookReceiver.js';

const DAY_MS = 86_400_000;
const USD = 1_000_000_000;
const NOW = Date.parse('2026-12-07T10:00:00Z');
const YEAR_S = 365 * 86_400;

const received: { text: string; event: string; [field: string]: unknown }[] = [];
const receiver = webhookReceiver(received);
const prefix = `test:lifetime-alerts:${randomUUID()}:`;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix, lazyConnect: true });
let notifier: AlertNotifier;

before(async () => {
  await redis.connect();
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  notifier = new AlertNotifier(redis, {
    url: `http://127.0.0.1:${port}/hook`,
    dedupSeconds: 3600,
    log: pino({ level: 'silent' }),
  });
});
after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  redis.disconnect();
  receiver.close();
});

const status = (id: string, maxUsd: number, spentUsd: number, period: Period): BudgetStatus => ({
  // budgetWatchAlerts reads the scope's id, type and label only.
  scope: { id, type: 'team', label: `team ${id}` } as BudgetStatus['scope'],
  maxNano: maxUsd * USD,
  spentNano: spentUsd * USD,
  period,
  forecast: null,
});
const thresholds = (statuses: BudgetStatus[], nowMs: number) =>
  budgetWatchAlerts(statuses, { thresholds: [50, 80, 100], forecast: false, forecastCooldownSeconds: 86_400, nowMs });
const ttlOf = (event: AlertEvent) => redis.ttl(`alerts:sent:${event.event}:${event.subject}`);
const sentOf = (event: string, scope: string) => received.filter((a) => a.event === event && a.scope === scope);

test('a lifetime budget threshold alerts once for good; raising the budget re-arms it', async () => {
  const scope = `team:life-${randomUUID()}`;
  const [crossed] = thresholds([status(scope, 100, 100, LIFETIME)], NOW);
  assert.ok(crossed);
  assert.equal(crossed.subject, `${scope}:lifetime:100.000000000:100`);
  assert.equal(crossed.dedupSeconds, LIFETIME_DEDUP_SECONDS);
  assert.equal(await notifier.send(crossed), true);
  // Held for years, not the 30 days after which the same threshold used to be sent again every month.
  assert.ok((await ttlOf(crossed)) > 9 * YEAR_S, 'the claim outlives a month');

  // The next check, and one 31 days later: the same subject, claimed already.
  for (const nowMs of [NOW + 60_000, NOW + 31 * DAY_MS]) {
    const [again] = thresholds([status(scope, 100, 100, LIFETIME)], nowMs);
    assert.equal(again?.subject, crossed.subject);
    assert.equal(again && (await notifier.send(again)), false);
  }

  // Raised to $200: its own 50% line (spend $100) is news, sent once.
  const [raised] = thresholds([status(scope, 200, 100, LIFETIME)], NOW + 32 * DAY_MS);
  assert.equal(raised?.subject, `${scope}:lifetime:200.000000000:50`);
  assert.equal(raised && (await notifier.send(raised)), true);
  assert.equal(raised && (await notifier.send(raised)), false);
  await notifier.drain();
  assert.deepEqual(
    sentOf('budget_threshold_crossed', scope).map((a) => [a.threshold_percent, a.max_budget, a.period_end]),
    [
      [100, '100.000000000', null],
      [50, '200.000000000', null],
    ],
  );
});

test('a periodic budget threshold still keys on its period and holds to its end', () => {
  const scope = `team:monthly-${randomUUID()}`;
  const period = { start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') };
  const [crossed] = thresholds([status(scope, 100, 85, period)], NOW);
  assert.equal(crossed?.subject, `${scope}:2026-12-01T00:00:00Z:80`);
  assert.equal(crossed?.dedupSeconds, (period.end.getTime() - NOW) / 1000);
});

test('a lifetime hard budget hit from the budget guard alerts once per max budget, for good', async () => {
  const sends: Promise<boolean>[] = [];
  const sender = budgetAlertSender(
    {
      send: (event: AlertEvent) => {
        const sent = notifier.send(event);
        sends.push(sent);
        return sent;
      },
    } as AlertNotifier,
    () => NOW,
  );
  const id = `life-hard-${randomUUID()}`;
  const scope = (maxUsd: number) =>
    ({
      id: `team:${id}`,
      kind: 'team',
      label: `team ${id}`,
      softNano: null,
      maxNano: maxUsd * USD,
      period: LIFETIME,
    }) as unknown as BudgetScope;
  sender(hardBudgetAlert(scope(1), USD), null);
  sender(hardBudgetAlert(scope(1), USD), null);
  sender(hardBudgetAlert(scope(2), 2 * USD), null);
  assert.deepEqual(await Promise.all(sends), [true, false, true]);
  await notifier.drain();
  assert.deepEqual(
    sentOf('hard_budget_hit', `team:${id}`).map((a) => a.max_budget),
    ['1.000000000', '2.000000000'],
  );
  const ttl = await redis.ttl(`alerts:sent:hard_budget_hit:team:${id}:lifetime:1.000000000`);
  assert.ok(ttl > 9 * YEAR_S, `ttl ${ttl}`);
});
