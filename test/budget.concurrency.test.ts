// $1.00 budget, 200 concurrent clients spread over TWO app instances on the same ClickHouse database and
// Redis prefix: every client keeps calling until it is refused. Spend must end ≤ $1.00 exactly and use at
// least 95% of it. Calls go through the registered CallGuards (admit → upstream → settle), as the proxy does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { ledgerKeys } from '../src/budgets/ledger.js';
import { LIFETIME } from '../src/periods.js';
import { curlPost, principalFor, simulateCall } from './budgetCalls.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

let t: TestApp;
let second: FastifyInstance;
before(async () => {
  t = await startTestApp();
  second = await buildApp({ config: t.config });
});
after(async () => {
  await second.close();
  await t.close();
});

/** Deterministic costs: worst case 0.5–1.5 cents, actual 50–100% of it. */
function costs(seed: number): { maxCostNano: number; costNano: number } {
  const maxCostNano = 5_000_000 + ((seed * 7919) % 10_000_000);
  return { maxCostNano, costNano: Math.floor(maxCostNano * (0.5 + ((seed * 104729) % 500) / 1000)) };
}

test('$1.00 budget, 200 concurrent clients on two instances: spend ≤ $1.00 and ≥ 95% used', async () => {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'race', max_budget: 1 });
  const key = await curlPost(t.app, '/key/generate', { team_id: team.body.team_id });
  const secret = String(key.body.key);
  const instances = [t.app, second];
  const principals = await Promise.all(instances.map((app) => principalFor(app, secret)));

  let admittedSpend = 0;
  let admitted = 0;
  let refused = 0;
  let seed = 0;
  async function client(i: number): Promise<void> {
    const app = instances[i % 2] as FastifyInstance;
    const principal = principals[i % 2]!;
    for (;;) {
      const call = costs(seed++);
      const result = await simulateCall(app, principal, call);
      if (!result.ok) {
        assert.equal(result.error.code, 'budget_exceeded', result.error.message);
        refused++;
        return;
      }
      admitted++;
      admittedSpend += call.costNano;
    }
  }
  await Promise.all(Array.from({ length: 200 }, (_, i) => client(i)));

  const counters = await t.app.budgetLedger.read(ledgerKeys.scope(`team:${team.body.team_id}`, LIFETIME));
  assert.equal(counters.spent, admittedSpend, 'the ledger counted exactly the admitted calls');
  assert.equal(counters.reserved, 0, 'nothing left reserved');
  assert.ok(admittedSpend <= 1_000_000_000, `overspent: ${admittedSpend} nano`);
  assert.ok(admittedSpend >= 950_000_000, `under-used: ${admittedSpend} nano`);
  assert.equal(refused, 200);
  assert.ok(admitted > 100);
});
