// One zod issue as the text a client or operator reads: `model_list[2].litellm_params.model: required`,
// `rpm_limit: expected an integer, got 1.5`. Used by the HTTP error handler and the config loader alike.
import type { z } from 'zod';
import { storableName } from '../spendRecord.js';
import { quoted } from './zodMessages.js';

type Issue = z.core.$ZodIssue;

const MAX_SEGMENT = 64;

/**
 * `model_list[2].litellm_params.model` — the path style LiteLLM users read in their own YAML. Object keys
 * come from the client (metadata keys): control characters are shown as U+FFFD and long keys are cut, so an
 * error message never carries an escape sequence or a megabyte key back.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') {
      out += `[${part}]`;
      continue;
    }
    const text = String(part);
    const segment = storableName(text.length > MAX_SEGMENT ? `${text.slice(0, MAX_SEGMENT)}…` : text);
    out += out ? `.${segment}` : segment;
  }
  return out || '(root)';
}

/**
 * The issue to report, with its full path. A union whose value had the right type for one branch
 * (`model_max_budget.m` = `{"budget_limit": "x"}`) reports that branch's issue (`…budget_limit: expected a
 * number, got string`) rather than zod's "Invalid input"; a union refused on type alone keeps its message.
 */
function leafIssue(issue: Issue, prefix: PropertyKey[] = []): { issue: Issue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union') return { issue, path };
  const typed = issue.errors.find((branch) => {
    const first = branch[0];
    return first && !(first.code === 'invalid_type' && first.path.length === 0);
  });
  const inner = typed?.[0];
  return inner ? leafIssue(inner, path) : { issue, path };
}

/** One issue as `param` (the field at fault; an unknown field is named by its own path) and `param: message`. */
export function describeIssue(raw: Issue): { param: string; text: string } {
  const { issue, path } = leafIssue(raw);
  if (issue.code !== 'unrecognized_keys') {
    const param = formatPath(path);
    return { param, text: `${param}: ${issue.message}` };
  }
  const [first = '', ...others] = issue.keys;
  const param = formatPath([...path, first]);
  const also = others.length
    ? ` (also unknown: ${others
        .slice(0, 5)
        .map((k) => quoted(k))
        .join(', ')})`
    : '';
  return { param, text: `${param}: unknown field${also}` };
}
