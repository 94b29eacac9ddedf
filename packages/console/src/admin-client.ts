import { consoleErrors } from './errors.ts';

/** What the admin API answered: its status and JSON body (or its error code and message). */
export interface AdminAnswer<T = unknown> {
  status: number;
  body: T;
  error?: { code: string; message: string };
}

export interface AdminClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<AdminAnswer<T>>;
  /** The calls made so far (method and path without the query) and the time spent waiting on them. */
  readonly made: { calls: string[]; ms: number };
}

/**
 * The console's back end: the admin API (and the permission service's OpenFGA API, the same way),
 * called with the signed-in person's own access token, so the service decides what they may do and
 * audits it under their name.
 */
export function adminClientFor(adminApiUrl: string, token: string, forwardedFor?: string): AdminClient {
  const made = { calls: [] as string[], ms: 0 };
  return {
    made,
    async call<T>(method: string, path: string, body?: unknown): Promise<AdminAnswer<T>> {
      made.calls.push(`${method} ${path.split('?')[0]}`);
      const started = performance.now();
      try {
        return await send<T>(method, path, body);
      } finally {
        made.ms += performance.now() - started;
      }
    },
  };

  async function send<T>(method: string, path: string, body?: unknown): Promise<AdminAnswer<T>> {
    let res: Response;
    try {
      res = await fetch(`${adminApiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (cause) {
      throw consoleErrors.create('CONSOLE_ADMIN_API_UNAVAILABLE', undefined, { cause });
    }
    const text = await res.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (res.ok) return { status: res.status, body: parsed as T };
    // The admin API names its error `error`; the permission service's OpenFGA API names it `code`.
    const e = (parsed ?? {}) as { error?: string; code?: string; message?: string };
    return {
      status: res.status,
      body: parsed as T,
      error: { code: e.error ?? e.code ?? `HTTP_${res.status}`, message: e.message ?? res.statusText },
    };
  }
}
