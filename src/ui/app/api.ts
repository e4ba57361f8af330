// Every call the dashboard makes goes through `api`: same-origin JSON with the session cookie, errors
// turned into ApiError with the server's message (OpenAI error shape), and a 401 announced so the shell
// can return to the login form.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function messageOf(status: number, body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as { error?: unknown; message?: unknown; detail?: unknown };
    if (b.error && typeof b.error === 'object' && 'message' in b.error) return String(b.error.message);
    if (typeof b.error === 'string') return b.error;
    if (typeof b.message === 'string') return b.message;
    if (typeof b.detail === 'string') return b.detail;
  }
  if (status === 404) return `not available on this server (${fallback} → 404)`;
  return `${fallback} failed with HTTP ${status}`;
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `cannot reach the server (${(err as Error).message})`);
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const isLogin = path === '/ui/api/login';
    if (res.status === 401 && !isLogin) for (const l of unauthorizedListeners) l();
    const retry = res.headers.get('retry-after');
    throw new ApiError(
      res.status,
      messageOf(res.status, parsed, `${method} ${path.split('?')[0]}`),
      retry ? Number(retry) : null,
    );
  }
  return parsed as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, undefined, signal);
export const post = <T>(path: string, body: unknown, signal?: AbortSignal) => api<T>('POST', path, body, signal);

/** `?a=1&b=x` from the defined entries only. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') sp.set(k, String(v));
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/** Management lists come as a bare array or wrapped ({keys|users|teams|data: [...]}), as in LiteLLM. */
export function listOf<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    for (const field of ['keys', 'users', 'teams', 'data', 'customers', 'tags', 'budgets', 'members', 'logs']) {
      const value = (body as Record<string, unknown>)[field];
      if (Array.isArray(value)) return value as T[];
    }
  }
  return [];
}

export type { SessionInfo } from '../server/loginRoutes.js';
