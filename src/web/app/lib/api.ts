/**
 * The page's way to kumo: the same `/api` routes the CLI calls, with the session cookie (sent by
 * the browser) and the session's CSRF token (from the shell's meta tag) on every state change.
 */
const csrf = document.querySelector<HTMLMetaElement>('meta[name="kumo-csrf"]')?.content ?? '';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly violations: { field: string; description: string }[] = [],
  ) {
    super(message);
  }
}

type Listener = (e: ApiError) => void;
const authListeners = new Set<Listener>();

/** Told when a call comes back 401: the session ended. */
export function onSessionEnded(fn: Listener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const unsafe = method !== 'GET' && method !== 'HEAD';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (unsafe) headers['x-kumo-csrf'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}), ...(signal ? { signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'UNAVAILABLE', `kumo did not answer (${(err as Error).message}); is kumo server running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, 'INTERNAL', `kumo answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const e = (json as { error?: { status?: string; message?: string; details?: { fieldViolations?: { field: string; description: string }[] }[] } } | undefined)?.error;
    const err = new ApiError(res.status, e?.status ?? 'INTERNAL', e?.message ?? `HTTP ${res.status}`, e?.details?.[0]?.fieldViolations ?? []);
    if (res.status === 401) for (const fn of authListeners) fn(err);
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> => api<T>('GET', path, undefined, signal);

export async function signOut(): Promise<void> {
  await fetch('/sign-out', { method: 'POST', headers: { 'x-kumo-csrf': csrf }, credentials: 'same-origin' });
}

/** `/api/services/a b` → `/api/services/a%20b`: names go into paths encoded. */
export const enc = encodeURIComponent;
