// Config sections for guardrails and tag policies (docs/operations.md). Regexes are compiled here so a bad
// custom pattern is a boot error naming its path, never a failure inside a call.
import { z } from 'zod';

const patternName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lowercase letters, digits and _ (like us_ssn)');

export const customPatternSchema = z
  .strictObject({
    name: patternName,
    regex: z.string().min(1),
    /** Extra RegExp flags (`i`, `m`, `s`, `u`); `g` is always added. */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'only i, m, s and u')
      .optional(),
    /** Replacement when masking; default `[NAME_REDACTED]`. */
    replacement: z.string().optional(),
  })
  .refine(
    (p) => {
      try {
        return new RegExp(p.regex, `${p.flags ?? ''}g`).test('') === false;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression, or it matches the empty string', path: ['regex'] },
  );

export const guardrailRuleSchema = z.strictObject({
  /** Shown in logs and metrics; default `<action>:<patterns>`. */
  name: z.string().min(1).max(64).optional(),
  patterns: z.array(patternName).min(1),
  action: z.enum(['mask', 'block']),
  /** Scope: the rule applies to calls of these teams (team_id) and/or keys (key_alias or key hash). Both
   * empty or absent = every call. */
  teams: z.array(z.string().min(1)).optional(),
  keys: z.array(z.string().min(1)).optional(),
});

const spendhouseGuardrailsSchema = z.strictObject({
  custom_patterns: z.array(customPatternSchema).default([]),
  rules: z.array(guardrailRuleSchema).default([]),
  /** Set when the file had LiteLLM's list-shaped `guardrails:` (not supported): the plugin warns at boot. */
  ignored_litellm_entries: z.number().int().optional(),
});

/** Ours is an object; LiteLLM's `guardrails:` is a list of vendor integrations, kept as a warning. */
export const guardrailsSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { ignored_litellm_entries: value.length } : value),
  spendhouseGuardrailsSchema,
);

export const tagPolicySchema = z
  .strictObject({
    name: z.string().min(1).max(64).optional(),
    /** The policy applies to calls carrying every one of these tags (after merging body, headers, key tags). */
    tags: z.array(z.string().min(1)).min(1),
    deny_providers: z.array(z.string().min(1)).optional(),
    allow_providers: z.array(z.string().min(1)).optional(),
    deny_models: z.array(z.string().min(1)).optional(),
    allow_models: z.array(z.string().min(1)).optional(),
  })
  .refine((p) => p.deny_providers || p.allow_providers || p.deny_models || p.allow_models, {
    message: 'needs deny_providers, allow_providers, deny_models or allow_models',
  });

export type GuardrailsConfig = z.infer<typeof guardrailsSchema>;
export type GuardrailRuleConfig = z.infer<typeof guardrailRuleSchema>;
export type TagPolicyConfig = z.infer<typeof tagPolicySchema>;
