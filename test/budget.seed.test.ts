// The seed's three curl snippets, verbatim in shape (JSON sent as curl -d sends it), then alice spends her
// $50 and every further call is refused with 429 budget_exceeded. The proxy routes are exercised through
// the registered CallGuards (the same admit/settle the proxy runs around each upstream call).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { curlPost, principalFor, simulateCall } from './budgetCalls.js';
import { startTestApp, type TestApp } from './helpers/testApp.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => t.close());

test('seed flow: team → user in team → key for user; at $50 every call returns 429', async () => {
  const team = await curlPost(t.app, '/team/new', { team_alias: 'frontend-team', max_budget: 1000 });
  assert.equal(team.status, 200, JSON.stringify(team.body));
  assert.equal(team.body.team_alias, 'frontend-team');
  assert.equal(team.body.max_budget, 1000);
  const teamId = String(team.body.team_id);

  const user = await curlPost(t.app, '/user/new', { user_email: 'alice@acme.com', team_id: teamId, max_budget: 50 });
  assert.equal(user.status, 200, JSON.stringify(user.body));
  assert.equal(user.body.user_email, 'alice@acme.com');
  assert.deepEqual(user.body.teams, [teamId]);
  const userId = String(user.body.user_id);

  const key = await curlPost(t.app, '/key/generate', { user_id: userId });
  assert.equal(key.status, 200, JSON.stringify(key.body));
  const secret = String(key.body.key);
  assert.match(secret, /^sk-/);

  const principal = await principalFor(t.app, secret);
  assert.equal(principal.userId, userId);

  // $4 worst case, $3 actual: the 16th call would pass $50 in the worst case → admitted only while it fits.
  let spent = 0;
  for (let i = 0; i < 40; i++) {
    const result = await simulateCall(t.app, principal, { maxCostNano: 4e9, costNano: 3e9 });
    if (!result.ok) break;
    spent += 3e9;
  }
  assert.ok(spent <= 50e9 && spent >= 46e9, `spent ${spent}`);
  // Drain to exactly $50 with cheap calls, then nothing passes, not even a zero-cost call.
  while ((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9 })).ok) spent += 1e9;
  assert.equal(spent, 50e9);
  for (const maxCostNano of [1, 0]) {
    const refused = await simulateCall(t.app, principal, { maxCostNano, costNano: 0 });
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.error.status, 429);
    assert.equal(refused.error.type, 'budget_exceeded');
    assert.equal(refused.error.message, 'Budget exceeded for user alice@acme.com: spent $50.00 of $50.00');
    assert.equal(refused.error.headers['x-should-retry'], 'false');
  }
});
