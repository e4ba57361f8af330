// Tag policies: rules like `{tags: ["data:pii"], deny_providers: ["openai"]}` evaluated on a call's merged
// tags before it is forwarded. A refused call gets 403 policy_violation naming the rule; its record keeps
// that status, and the refusal is counted by rule.

import type { Admission, AdmissionGuard, CallContext } from '../callGuards.js';
import { AppError } from '../errors.js';
import type { TagPolicyConfig } from './schema.js';

const ADMITTED: Admission = { settle: async () => {} };

export interface TagPolicy {
  name: string;
  tags: string[];
  denyProviders: ReadonlySet<string> | null;
  allowProviders: ReadonlySet<string> | null;
  denyModels: ReadonlySet<string> | null;
  allowModels: ReadonlySet<string> | null;
}

const setOf = (values: string[] | undefined) => (values ? new Set(values) : null);

export function compileTagPolicies(configs: TagPolicyConfig[]): TagPolicy[] {
  return configs.map((p, i) => ({
    name: p.name ?? `tag_policies[${i}]`,
    tags: p.tags,
    denyProviders: setOf(p.deny_providers),
    allowProviders: setOf(p.allow_providers),
    denyModels: setOf(p.deny_models),
    allowModels: setOf(p.allow_models),
  }));
}

/** Why the policy refuses this call, or null when it allows it (or does not apply). */
export function policyRefusal(policy: TagPolicy, ctx: Pick<CallContext, 'tags' | 'provider' | 'model'>): string | null {
  if (!policy.tags.every((tag) => ctx.tags.includes(tag))) return null;
  const tags = policy.tags.join(', ');
  if (policy.denyProviders?.has(ctx.provider) || (policy.allowProviders && !policy.allowProviders.has(ctx.provider))) {
    return `calls tagged ${tags} may not go to provider ${ctx.provider}`;
  }
  if (policy.denyModels?.has(ctx.model) || (policy.allowModels && !policy.allowModels.has(ctx.model))) {
    return `calls tagged ${tags} may not use model ${ctx.model}`;
  }
  return null;
}

export interface PolicyCounter {
  inc(labels: { policy: string }): void;
}

export function tagPolicyGuard(policies: TagPolicy[], refusals: PolicyCounter): AdmissionGuard {
  return {
    name: 'tag_policies',
    async admit(ctx: CallContext): Promise<Admission> {
      for (const policy of policies) {
        const reason = policyRefusal(policy, ctx);
        if (reason === null) continue;
        refusals.inc({ policy: policy.name });
        throw new AppError('policy_violation', `refused by tag policy ${policy.name}: ${reason}`, {
          param: 'tags',
          type: 'policy_violation',
        });
      }
      return ADMITTED;
    },
  };
}
