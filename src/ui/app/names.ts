// Display names for the ids a page shows (team, key, user and customer aliases) from GET /ui/api/names:
// one request per page with that page's ids, never one per row. Rows keep their ids (tooltips, filters,
// CSV); a name only labels them. Without an answer (server down) the ids are shown.
import type { NameBook, NameKind } from '../server/names.js';
import { get } from './api.js';

export type { NameBook, NameKind };

const KINDS: readonly NameKind[] = ['team', 'key', 'user', 'customer'];
export const NO_NAMES: NameBook = { team: {}, key: {}, user: {}, customer: {} };

export const isNamed = (dimension: string): dimension is NameKind => (KINDS as readonly string[]).includes(dimension);

export async function fetchNames(
  ids: Partial<Record<NameKind, readonly (string | null | undefined)[]>>,
  signal?: AbortSignal,
): Promise<NameBook> {
  const params = new URLSearchParams();
  for (const kind of KINDS) for (const id of new Set(ids[kind] ?? [])) if (id) params.append(kind, id);
  if (params.toString() === '') return NO_NAMES;
  try {
    return await get<NameBook>(`/ui/api/names?${params}`, signal);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return NO_NAMES;
  }
}

/** The name of an id, or null when it has none. */
export const nameOf = (names: NameBook, kind: NameKind, id: string | null | undefined): string | null =>
  id ? (names[kind][id] ?? null) : null;
