// The Keys tab's view of the management API (LiteLLM's /key/* paths and field names, money in USD).
import { get, listOf, post } from '../api.js';

export interface KeyInfo {
  token: string;
  key_alias?: string | null;
  key_name?: string | null;
  user_id?: string | null;
  team_id?: string | null;
  spend?: number | string | null;
  max_budget?: number | null;
  soft_budget?: number | null;
  budget_duration?: string | null;
  budget_reset_at?: string | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  max_parallel_requests?: number | null;
  models?: string[];
  tags?: string[];
  blocked?: boolean | null;
  expires?: string | null;
  created_at?: string | null;
  last_used_at?: string | null;
  last_active?: string | null;
}

/** Editable limits, as the form holds them (empty string = no limit). */
export interface LimitsForm {
  max_budget: string;
  soft_budget: string;
  budget_duration: string;
  rpm_limit: string;
  tpm_limit: string;
  max_parallel_requests: string;
}

export const EMPTY_LIMITS: LimitsForm = {
  max_budget: '',
  soft_budget: '',
  budget_duration: '',
  rpm_limit: '',
  tpm_limit: '',
  max_parallel_requests: '',
};

export function limitsFormOf(k: Partial<Record<keyof LimitsForm, unknown>>): LimitsForm {
  const s = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    max_budget: s(k.max_budget),
    soft_budget: s(k.soft_budget),
    budget_duration: s(k.budget_duration),
    rpm_limit: s(k.rpm_limit),
    tpm_limit: s(k.tpm_limit),
    max_parallel_requests: s(k.max_parallel_requests),
  };
}

/** Form → API fields: numbers parsed, empty = null (cleared). The API validates and names bad fields. */
export function limitsBody(form: LimitsForm): Record<string, number | string | null> {
  const n = (v: string) => (v.trim() === '' ? null : Number(v));
  return {
    max_budget: n(form.max_budget),
    soft_budget: n(form.soft_budget),
    budget_duration: form.budget_duration.trim() || null,
    rpm_limit: n(form.rpm_limit),
    tpm_limit: n(form.tpm_limit),
    max_parallel_requests: n(form.max_parallel_requests),
  };
}

export const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The API pages by 100; the dashboard reads up to MAX_KEY_PAGES pages (10,000 keys) and says so if there are more. */
export const MAX_KEY_PAGES = 100;

export async function listKeys(signal: AbortSignal): Promise<{ keys: KeyInfo[]; total: number }> {
  const keys: KeyInfo[] = [];
  let total = 0;
  for (let page = 1; page <= MAX_KEY_PAGES; page++) {
    const body = await get<{ keys?: KeyInfo[]; total_count?: number; total_pages?: number }>(
      `/key/list?return_full_object=true&size=100&page=${page}`,
      signal,
    );
    keys.push(...listOf<KeyInfo>(body));
    total = body.total_count ?? keys.length;
    if (page >= (body.total_pages ?? 1)) break;
  }
  return { keys, total };
}

/** Last call per key hash over the last 30 days (GET /ui/api/keys/last-used). */
export async function lastUsed(signal: AbortSignal): Promise<Record<string, string>> {
  return (await get<{ data: Record<string, string> }>('/ui/api/keys/last-used', signal)).data;
}

export const generateKey = (body: Record<string, unknown>) =>
  post<{ key: string; token?: string }>('/key/generate', body);
export const updateKey = (token: string, body: Record<string, unknown>) => post('/key/update', { key: token, ...body });
export const regenerateKey = (token: string, gracePeriod: string) =>
  post<{ key: string }>('/key/regenerate', { key: token, ...(gracePeriod ? { grace_period: gracePeriod } : {}) });
export const blockKey = (token: string, blocked: boolean) =>
  post(blocked ? '/key/block' : '/key/unblock', { key: token });
export const deleteKey = (token: string) => post('/key/delete', { keys: [token] });
