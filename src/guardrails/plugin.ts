// Registers guardrails (a screener) and tag policies (an admission guard of the `policy` phase, which runs
// ahead of budgets: a refused call never holds a budget reservation) in app.callGuards (docs/operations.md). Their counters are created unregistered and
// exposed as `app.guardrailMetrics` for the /metrics registry.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { AppConfig } from '../config/load.js';
import { GuardrailRules } from './contentRules.js';
import { guardrailScreener } from './guard.js';
import { compileTagPolicies, tagPolicyGuard } from './tagPolicies.js';

export interface GuardrailMetrics {
  hits: Counter<'pattern' | 'action'>;
  policyRefusals: Counter<'policy'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    guardrailMetrics: GuardrailMetrics;
  }
}

function createGuardrailMetrics(): GuardrailMetrics {
  return {
    hits: new Counter({
      name: 'spendhouse_guardrail_hits_total',
      help: 'Calls in which a guardrail pattern matched, by pattern and action (mask or block)',
      labelNames: ['pattern', 'action'],
      registers: [],
    }),
    policyRefusals: new Counter({
      name: 'spendhouse_policy_refusals_total',
      help: 'Calls refused by a tag policy, by policy name',
      labelNames: ['policy'],
      registers: [],
    }),
  };
}

async function guardrailsPlugin(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const { file } = opts.config;
  const metrics = createGuardrailMetrics();
  app.decorate('guardrailMetrics', metrics);
  if (file.guardrails.ignored_litellm_entries) {
    app.log.warn(
      `guardrails: ${file.guardrails.ignored_litellm_entries} LiteLLM guardrail integration(s) are not supported and were ignored; Spendhouse's own rules go under guardrails.rules (docs/operations.md)`,
    );
  }
  const rules = new GuardrailRules(file.guardrails);
  if (!rules.empty) app.callGuards.addScreener(guardrailScreener(rules, metrics.hits));
  const policies = compileTagPolicies(file.tag_policies);
  if (policies.length) app.callGuards.addAdmission('policy', tagPolicyGuard(policies, metrics.policyRefusals));
}

export default fp(guardrailsPlugin, { name: 'guardrails', dependencies: ['call-guards'] });
