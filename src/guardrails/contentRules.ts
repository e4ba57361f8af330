// Guardrail rules compiled from config: which patterns apply to a call (global, per team, per key) with
// which action, and the screen that rewrites or refuses a call's text. Block wins over mask for a pattern
// both would catch; a blocked call's error names the pattern, never the matched text.
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { acceptedMatches, BUILT_IN_NAMES, BUILT_IN_PATTERNS, type ContentPattern } from './patterns.js';
import type { GuardrailsConfig } from './schema.js';

export type GuardrailAction = 'mask' | 'block';

interface CompiledRule {
  action: GuardrailAction;
  patterns: ContentPattern[];
  teams: ReadonlySet<string>;
  keys: ReadonlySet<string>;
}

function compilePatterns(config: GuardrailsConfig): Map<string, ContentPattern> {
  const byName = new Map(BUILT_IN_PATTERNS.map((p) => [p.name, p]));
  config.custom_patterns.forEach((custom, i) => {
    if (byName.has(custom.name)) {
      throw new Error(`guardrails.custom_patterns[${i}].name: ${custom.name} is already a pattern name`);
    }
    byName.set(custom.name, {
      name: custom.name,
      regex: new RegExp(custom.regex, `${custom.flags ?? ''}g`),
      token: custom.replacement ?? `[${custom.name.toUpperCase()}_REDACTED]`,
    });
  });
  return byName;
}

/** The patterns a call is screened with, split by action. */
export interface ScreenPlan {
  block: ContentPattern[];
  mask: ContentPattern[];
}

export class GuardrailRules {
  private readonly rules: CompiledRule[];

  constructor(config: GuardrailsConfig) {
    const patterns = compilePatterns(config);
    this.rules = config.rules.map((rule, i) => ({
      action: rule.action,
      patterns: rule.patterns.map((name, j) => {
        const pattern = patterns.get(name);
        if (!pattern) {
          throw new Error(
            `guardrails.rules[${i}].patterns[${j}]: unknown pattern ${name} (built-in: ${BUILT_IN_NAMES.join(', ')}; or add it to custom_patterns)`,
          );
        }
        return pattern;
      }),
      teams: new Set(rule.teams ?? []),
      keys: new Set(rule.keys ?? []),
    }));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Rules without teams or keys apply to every call; scoped ones to their teams' and keys' calls. */
  planFor(principal: Principal): ScreenPlan | null {
    const block = new Set<ContentPattern>();
    const mask = new Set<ContentPattern>();
    for (const rule of this.rules) {
      const global = rule.teams.size === 0 && rule.keys.size === 0;
      const applies =
        global ||
        (principal.teamId !== null && rule.teams.has(principal.teamId)) ||
        rule.keys.has(principal.keyHash) ||
        (principal.keyAlias !== null && rule.keys.has(principal.keyAlias));
      if (!applies) continue;
      for (const pattern of rule.patterns) (rule.action === 'block' ? block : mask).add(pattern);
    }
    for (const pattern of block) mask.delete(pattern);
    if (!block.size && !mask.size) return null;
    return { block: [...block], mask: [...mask] };
  }
}

export function contentBlocked(pattern: string, param: string): AppError {
  return new AppError('content_blocked', `the request was blocked by a guardrail: its content matches ${pattern}`, {
    param,
    type: 'content_blocked',
  });
}

/** Screens one call's strings: throws on a block pattern, masks the rest, remembers which patterns hit. */
export class ContentScreen {
  /** Pattern name → action taken, in the order first seen. */
  readonly hits = new Map<string, GuardrailAction>();

  constructor(readonly plan: ScreenPlan) {}

  screen(text: string, param: string): string {
    for (const pattern of this.plan.block) {
      if (!acceptedMatches(pattern, text).next().done) {
        this.hits.set(pattern.name, 'block');
        throw contentBlocked(pattern.name, param);
      }
    }
    return this.replace(text, this.plan.mask, true);
  }

  /** Text stored for the Logs tab (the response): every pattern of the plan is masked, nothing recorded. */
  maskStored(text: string): string {
    return this.replace(this.replace(text, this.plan.block, false), this.plan.mask, false);
  }

  private replace(text: string, patterns: ContentPattern[], record: boolean): string {
    let out = text;
    for (const pattern of patterns) {
      out = out.replace(pattern.regex, (match: string) => {
        if (pattern.validate && !pattern.validate(match)) return match;
        if (record) this.hits.set(pattern.name, 'mask');
        return pattern.token;
      });
    }
    return out;
  }

  /** `email:mask,us_ssn:block` — the record's `guardrail` metadata value. */
  summary(): string {
    return [...this.hits].map(([name, action]) => `${name}:${action}`).join(',');
  }
}
