// budget_fail_mode: what a call gets when Redis (the ledger) is unreachable — refused with 503 (closed, the
// default) or forwarded unchecked (open).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curlPost, principalFor, simulateCall } from './budgetCalls.js';
import { startTestApp, testConfig } from './helpers/testApp.js';

for (const mode of ['closed', 'open'] as const) {
  test(`Redis unreachable with budget_fail_mode: ${mode}`, async () => {
    // testConfig() derives budget settings from defaults, so the mode is set on the AppConfig directly.
    const t = await startTestApp({ ...testConfig(), budgetFailMode: mode });
    try {
      assert.equal(t.config.budgetFailMode, mode);
      const team = await curlPost(t.app, '/team/new', { team_alias: `fail-${mode}`, max_budget: 5 });
      const key = await curlPost(t.app, '/key/generate', { team_id: team.body.team_id });
      const principal = await principalFor(t.app, String(key.body.key));
      assert.ok((await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9 })).ok);

      t.app.redis.disconnect();
      const result = await simulateCall(t.app, principal, { maxCostNano: 1e9, costNano: 1e9 });
      if (mode === 'open') {
        assert.ok(result.ok, 'forwarded without a check');
      } else {
        assert.equal(result.ok, false);
        if (result.ok) return;
        assert.equal(result.error.status, 503);
        assert.equal(result.error.code, 'service_unavailable');
      }
    } finally {
      await t.close();
    }
  });
}
