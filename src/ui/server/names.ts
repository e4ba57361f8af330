// Display names for the ids the dashboard shows (GET /ui/api/names): team_alias, key_alias, a user's alias
// (else email) and a customer's alias, from the control plane, plus the config file's static keys and the
// master key. The dashboard asks once per page (a Logs page, a Spend breakdown) with the ids on it; rows keep
// showing and filtering by the ids, the names are labels. A session sees the names of what its spend scope
// shows: everything for admins, its team's keys and its team for a team-scoped key, else its own key, team
// and user.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hashKey, type Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/load.js';
import type { DocOf } from '../../management/entities.js';
import type { ControlStore } from '../../management/store.js';

/** Ids of one kind in one request: a Logs page has at most 50 calls, a breakdown 10 rows. */
const MAX_IDS = 100;
export const NAME_KINDS = ['team', 'key', 'user', 'customer'] as const;
export type NameKind = (typeof NAME_KINDS)[number];
export type NameBook = Record<NameKind, Record<string, string>>;

const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().min(1).max(256)).max(MAX_IDS, `at most ${MAX_IDS} ids`))
  .default([]);
export const namesQuerySchema = z.strictObject({ team: idList, key: idList, user: idList, customer: idList });
export type NamesQuery = z.infer<typeof namesQuerySchema>;

/** Key hash → alias of the keys the config file defines, and the master key (`master`, as its calls record). */
export function staticKeyNames(config: AppConfig): Map<string, { alias: string; teamId: string | null }> {
  const out = new Map<string, { alias: string; teamId: string | null }>();
  for (const k of config.file.keys) {
    if (k.key_alias) out.set(hashKey(k.key), { alias: k.key_alias, teamId: k.team_id ?? null });
  }
  out.set(hashKey(config.masterKey), { alias: 'master', teamId: null });
  return out;
}

const set = (book: Record<string, string>, id: string, name: string | null | undefined) => {
  if (name) book[id] = name;
};

export async function namesFor(
  store: ControlStore | null,
  staticKeys: ReadonlyMap<string, { alias: string; teamId: string | null }>,
  ids: NamesQuery,
  principal: Principal,
): Promise<NameBook> {
  const all = principal.spendVisibility === 'all';
  const team = principal.spendVisibility === 'team' ? principal.teamId : null;
  const mine = (id: string, own: string | null) => all || id === own;
  const wanted = {
    team: ids.team.filter((id) => mine(id, principal.teamId)),
    // A team-scoped key sees its team's keys: which those are is known only after reading them (below).
    key: all || team ? ids.key : ids.key.filter((id) => id === principal.keyHash),
    user: ids.user.filter((id) => mine(id, principal.userId)),
    customer: all ? ids.customer : [],
  };
  const read = <K extends NameKind>(kind: K, list: string[]) =>
    store ? store.getMany(kind, list) : Promise.resolve(new Map<string, DocOf<K>>());
  const [teams, keys, users, customers] = await Promise.all([
    read('team', wanted.team),
    read('key', wanted.key),
    read('user', wanted.user),
    read('customer', wanted.customer),
  ]);
  const book: NameBook = { team: {}, key: {}, user: {}, customer: {} };
  for (const id of wanted.team) set(book.team, id, teams.get(id)?.team_alias);
  for (const id of wanted.key) {
    const doc = keys.get(id);
    const fixed = staticKeys.get(id);
    const keyTeam = doc ? doc.team_id : (fixed?.teamId ?? null);
    if (!all && id !== principal.keyHash && keyTeam !== team) continue;
    set(book.key, id, doc?.key_alias ?? fixed?.alias);
  }
  for (const id of wanted.user) set(book.user, id, users.get(id)?.user_alias ?? users.get(id)?.user_email);
  for (const id of wanted.customer) set(book.customer, id, customers.get(id)?.alias);
  return book;
}

export default async function namesRoutes(app: FastifyInstance, opts: { config: AppConfig }): Promise<void> {
  const staticKeys = staticKeyNames(opts.config);
  app.get('/api/names', async (request) => {
    const principal = await app.authenticate(request);
    const ids = namesQuerySchema.parse(request.query ?? {});
    const store = app.hasDecorator('controlPlane') ? app.controlPlane.store : null;
    return namesFor(store, staticKeys, ids, principal);
  });
}
