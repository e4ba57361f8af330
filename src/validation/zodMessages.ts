// What a rejected value was, in words a client can act on: "rpm_limit: expected an integer, got 1.5",
// "max_budget: expected a number, got string", "tags: at most 64 items, got 65". zod 4 drops `input` from
// finished issues (unless asked per parse), so the one place that can still see the value is the error map:
// it is installed once, when this module is first imported (config/load.ts and http/errorHandler.ts import
// it, so every parse in the process uses it). Messages a schema sets itself (`.max(9e6, 'at most …')`,
// refinements) are kept as they are. Messages never echo a whole client string: at most a short, sanitised
// quote of it (see quoted()).
import { z } from 'zod';
import { storableName } from '../spendRecord.js';

type Issue = z.core.$ZodRawIssue;

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  tuple: 'an array',
  null: 'null',
  date: 'a date',
};

const typeName = (expected: string) => TYPE_NAMES[expected] ?? expected;

/** A short, printable rendering of a client string: control characters become U+FFFD, long ones are cut. */
export function quoted(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(storableName(cut));
}

/** What was sent, for "got …": numbers and booleans by value, other things by their JSON type. */
export function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (typeof input === 'number') return String(input);
  if (typeof input === 'boolean') return String(input);
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

function sizeMessage(issue: Issue & { code: 'too_big' | 'too_small' }): string | undefined {
  const big = issue.code === 'too_big';
  const bound = Number(big ? issue.maximum : issue.minimum);
  const input = issue.input;
  switch (issue.origin) {
    case 'number':
    case 'int': {
      const word = big ? (issue.inclusive ? 'at most' : 'less than') : issue.inclusive ? 'at least' : 'greater than';
      return `${word} ${bound}, got ${describeInput(input)}`;
    }
    case 'string': {
      if (!big && bound === 1) return 'must not be empty';
      const length = typeof input === 'string' ? `, got ${input.length}` : '';
      return `${big ? 'at most' : 'at least'} ${bound} characters${length}`;
    }
    case 'array':
    case 'set': {
      const count = Array.isArray(input) ? `, got ${input.length}` : '';
      return `${big ? 'at most' : 'at least'} ${bound} item${bound === 1 ? '' : 's'}${count}`;
    }
    default:
      return undefined;
  }
}

/** "expected a number or an object, got string" when every branch of a union refused the value's type. */
function unionMessage(issue: Issue & { code: 'invalid_union' }): string | undefined {
  const expected: string[] = [];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (branch.length !== 1 || !first || first.code !== 'invalid_type' || first.path.length) return undefined;
    const name = typeName(first.expected);
    if (!expected.includes(name)) expected.push(name);
  }
  if (!expected.length) return undefined;
  return `expected ${expected.join(' or ')}, got ${describeInput(issue.input)}`;
}

/** The message for an issue zod raised without one of the schema's own. */
export function issueMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      // Coercion (`z.coerce.number()`) reports NaN/Infinity in `received`; the input itself is the text.
      const received = (issue as { received?: unknown }).received;
      if (issue.input === undefined && received === undefined) return 'required';
      const got = typeof received === 'string' ? received : describeInput(issue.input);
      // `z.number().int()` given a string fails on "number" first; the schema itself knows it wants an integer.
      const integer = issue.expected === 'number' && (issue.inst as { isInt?: unknown } | undefined)?.isInt === true;
      return `expected ${integer ? 'an integer' : typeName(issue.expected)}, got ${got}`;
    }
    case 'too_big':
    case 'too_small':
      return sizeMessage(issue);
    case 'invalid_value': {
      const values = issue.values.slice(0, 12).map((v) => (typeof v === 'string' ? v : String(v)));
      const more = issue.values.length > values.length ? ', …' : '';
      const got = typeof issue.input === 'string' ? quoted(issue.input) : describeInput(issue.input);
      return values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${got}`
        : `expected one of ${values.join(', ')}${more}; got ${got}`;
    }
    case 'invalid_union':
      return unionMessage(issue);
    case 'invalid_format':
      return issue.format === 'regex'
        ? `must match ${issue.pattern ?? 'the expected format'}`
        : `not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return issue.keys.length === 1
        ? 'unknown field'
        : `unknown fields ${issue.keys.map((k) => quoted(k)).join(', ')}`;
    case 'invalid_key':
    case 'invalid_element':
      // The inner issue says what is wrong with the key or element (its path is the outer one).
      return issue.issues[0]?.message;
    default:
      return undefined;
  }
}

// Installed once for the whole process (see the header).
z.config({ customError: issueMessage });
