// The guardrail screener: screens a call's text before the upstream request is built. Masked text is
// what the provider receives and what the Logs tab stores; a block refuses the call with 400
// content_blocked. Either way the record carries `metadata.guardrail` (`email:mask`, `us_ssn:block`).
import type { CallScreener, ScreenInput, Screening } from '../callGuards.js';
import { ContentScreen, type GuardrailRules } from './contentRules.js';
import { rewriteRequestText } from './requestText.js';

export interface GuardrailCounter {
  inc(labels: { pattern: string; action: string }): void;
}

export function guardrailScreener(rules: GuardrailRules, hits: GuardrailCounter): CallScreener {
  return {
    name: 'guardrails',
    screen(input: ScreenInput): Screening | undefined {
      const plan = rules.planFor(input.principal);
      if (!plan) return undefined;
      const screen = new ContentScreen(plan);
      try {
        rewriteRequestText(input.callType, input.body, (text, param) => screen.screen(text, param));
      } finally {
        if (screen.hits.size) {
          input.metadata.guardrail = screen.summary();
          for (const [pattern, action] of screen.hits) hits.inc({ pattern, action });
        }
      }
      return { maskStoredText: (text) => screen.maskStored(text) };
    },
  };
}
