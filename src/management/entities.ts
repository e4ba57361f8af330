// Stored documents of the control plane (one zod schema per kind) and how each maps onto its versioned
// ClickHouse table (clickhouse/030_control_plane.sql). Domain docs use LiteLLM's field names; money is nano-USD.
import { z } from 'zod';
import { KEY_PERMISSIONS } from '../auth/principal.js';
import { limitsDocShape } from './limits.js';

const metadata = z.record(z.string(), z.unknown()).default({});
const stringList = z.array(z.string()).default([]);
const isoTime = z.string();

export const keyDocSchema = z.object({
  /** sha256 of the secret: the id. The secret itself is never stored. */
  token: z.string(),
  /** Stable id across rotations: budget counters of the key follow it, not the hash. */
  key_id: z.string(),
  key_name: z.string(),
  key_alias: z.string().nullable().default(null),
  user_id: z.string().nullable().default(null),
  team_id: z.string().nullable().default(null),
  models: stringList,
  tags: stringList,
  metadata,
  /** Extra rights of a non-admin key (`ingest`). */
  permissions: z.array(z.enum(KEY_PERMISSIONS)).default([]),
  expires: isoTime.nullable().default(null),
  blocked: z.boolean().default(false),
  created_at: isoTime,
  updated_at: isoTime,
  /** Hashes this key had before rotations (spend of the key sums them too). */
  previous_tokens: stringList,
  /** Set on a rotated key kept alive for its grace period: resolves to this token until `expires`. */
  rotated_to: z.string().nullable().default(null),
  ...limitsDocShape,
});
export type KeyDoc = z.infer<typeof keyDocSchema>;

export const teamDocSchema = z.object({
  team_id: z.string(),
  team_alias: z.string().nullable().default(null),
  models: stringList,
  tags: stringList,
  metadata,
  blocked: z.boolean().default(false),
  created_at: isoTime,
  updated_at: isoTime,
  ...limitsDocShape,
});
export type TeamDoc = z.infer<typeof teamDocSchema>;

export const memberRoleSchema = z.enum(['admin', 'user']);
export const memberDocSchema = z.object({
  team_id: z.string(),
  user_id: z.string(),
  role: memberRoleSchema.default('user'),
  /** Per-member budget within the team; its period is the team's budget_duration. */
  max_budget_in_team_nano: z.number().int().nonnegative().nullable().default(null),
  created_at: isoTime,
});
export type MemberDoc = z.infer<typeof memberDocSchema>;

export const userRoleSchema = z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer']);
export const userDocSchema = z.object({
  user_id: z.string(),
  user_email: z.string().nullable().default(null),
  user_alias: z.string().nullable().default(null),
  user_role: userRoleSchema.default('internal_user'),
  models: stringList,
  metadata,
  blocked: z.boolean().default(false),
  created_at: isoTime,
  updated_at: isoTime,
  ...limitsDocShape,
});
export type UserDoc = z.infer<typeof userDocSchema>;

export const customerDocSchema = z.object({
  user_id: z.string(),
  alias: z.string().nullable().default(null),
  blocked: z.boolean().default(false),
  allowed_model_region: z.string().nullable().default(null),
  default_model: z.string().nullable().default(null),
  metadata,
  created_at: isoTime,
  updated_at: isoTime,
  ...limitsDocShape,
});
export type CustomerDoc = z.infer<typeof customerDocSchema>;

export const tagDocSchema = z.object({
  name: z.string(),
  description: z.string().nullable().default(null),
  models: stringList,
  created_at: isoTime,
  updated_at: isoTime,
  ...limitsDocShape,
});
export type TagDoc = z.infer<typeof tagDocSchema>;

export const budgetDocSchema = z.object({
  created_at: isoTime,
  updated_at: isoTime,
  ...limitsDocShape,
  // A tier's id is its budget_id (required here, unlike on the entities that reference one).
  budget_id: z.string(),
});
export type BudgetDoc = z.infer<typeof budgetDocSchema>;

/** The typed columns beside `doc` that lists filter on. */
export interface IndexColumns {
  id: string;
  alias: string;
  team_id: string;
  user_id: string;
  listed: 0 | 1;
}

interface KindSpec<S extends z.ZodType> {
  table: string;
  schema: S;
  columns(doc: z.infer<S>): IndexColumns;
}

const spec = <S extends z.ZodType>(s: KindSpec<S>) => s;

export const KINDS = {
  key: spec({
    table: 'control_keys',
    schema: keyDocSchema,
    columns: (d) => ({
      id: d.token,
      alias: d.key_alias ?? '',
      team_id: d.team_id ?? '',
      user_id: d.user_id ?? '',
      listed: d.rotated_to ? 0 : 1,
    }),
  }),
  team: spec({
    table: 'control_teams',
    schema: teamDocSchema,
    columns: (d) => ({ id: d.team_id, alias: d.team_alias ?? '', team_id: d.team_id, user_id: '', listed: 1 }),
  }),
  member: spec({
    table: 'control_team_members',
    schema: memberDocSchema,
    columns: (d) => ({
      id: memberId(d.team_id, d.user_id),
      alias: '',
      team_id: d.team_id,
      user_id: d.user_id,
      listed: 1,
    }),
  }),
  user: spec({
    table: 'control_users',
    schema: userDocSchema,
    columns: (d) => ({ id: d.user_id, alias: d.user_email ?? '', team_id: '', user_id: d.user_id, listed: 1 }),
  }),
  customer: spec({
    table: 'control_customers',
    schema: customerDocSchema,
    columns: (d) => ({ id: d.user_id, alias: d.alias ?? '', team_id: '', user_id: '', listed: 1 }),
  }),
  tag: spec({
    table: 'control_tags',
    schema: tagDocSchema,
    columns: (d) => ({ id: d.name, alias: d.name, team_id: '', user_id: '', listed: 1 }),
  }),
  budget: spec({
    table: 'control_budgets',
    schema: budgetDocSchema,
    columns: (d) => ({ id: d.budget_id, alias: d.budget_id, team_id: '', user_id: '', listed: 1 }),
  }),
};

export type Kind = keyof typeof KINDS;
export type DocOf<K extends Kind> = z.infer<(typeof KINDS)[K]['schema']>;
export const KIND_TABLES = Object.values(KINDS).map((k) => k.table);

export function memberId(teamId: string, userId: string): string {
  return JSON.stringify([teamId, userId]);
}
