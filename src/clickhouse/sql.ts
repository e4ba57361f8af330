// The one way values reach ClickHouse SQL. ClickHouse 18.16 has no server-side query parameters, so the
// `sql` tagged template renders every interpolated value as a safe, typed literal: strings escaped
// (backslash, quote, every control byte as \xHH), numbers checked finite and bracketed when negative (so
// `a -${-1}` can never become a `--` comment), dates as toDateTime(epoch), arrays element by element.
// Identifiers come only from constant whitelists through `ident`. Fuzzed against a real server in
// test/sql.property.test.ts.
import { AppError } from '../errors.js';

export class Sql {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type SqlValue = string | number | bigint | boolean | null | Date | Sql | readonly SqlValue[];

function escapeString(value: string): string {
  if (!value.isWellFormed()) {
    throw new AppError('bad_request', 'a text value contains invalid Unicode (a lone UTF-16 surrogate)');
  }
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

function renderNumber(value: number): string {
  if (!Number.isFinite(value)) throw new AppError('bad_request', `a numeric value is not finite: ${value}`);
  const text = Object.is(value, -0) ? '0' : String(value);
  return value < 0 ? `(${text})` : text;
}

export function renderValue(value: SqlValue): string {
  if (value instanceof Sql) return value.text;
  if (value === null) return 'NULL';
  if (typeof value === 'string') return escapeString(value);
  if (typeof value === 'number') return renderNumber(value);
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) throw new AppError('bad_request', 'a date value is invalid');
    return `toDateTime(${Math.floor(ms / 1000)})`;
  }
  if (Array.isArray(value)) {
    // An empty literal `[]` is Array(Nothing), which hasAny/has/IN reject on 18.16; our empty arrays are
    // tag or id lists, so type them as strings.
    if (value.length === 0) return 'emptyArrayString()';
    return `[${value.map(renderValue).join(', ')}]`;
  }
  throw new TypeError(`unsupported SQL value of type ${typeof value}`);
}

export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    text += renderValue(values[i] as SqlValue) + (strings[i + 1] ?? '');
  }
  return new Sql(text);
}

/** Joins fragments (or values) with a constant separator. */
export function joinSql(parts: readonly SqlValue[], separator = ', '): Sql {
  return new Sql(parts.map(renderValue).join(separator));
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An identifier (column, table, database) that must be one of the given constants. Whitelisting keeps
 * user-chosen names (group_by, order_by) from ever becoming SQL text.
 */
export function ident<T extends string>(name: string, allowed: readonly T[]): Sql {
  if (!allowed.includes(name as T) || !IDENTIFIER.test(name)) {
    throw new AppError('bad_request', `unknown name: ${JSON.stringify(name).slice(0, 80)}`);
  }
  return new Sql(`\`${name}\``);
}

/** A database name from config (validated by the config schema with the same pattern). */
export function databaseIdent(name: string): Sql {
  if (!IDENTIFIER.test(name)) throw new Error(`invalid ClickHouse database name ${JSON.stringify(name)}`);
  return new Sql(`\`${name}\``);
}
