import { SESSION_COOKIE } from '@gatehouse/sdk';
import type { VuHttp } from './http-client.ts';
import { StepFailedError, UnexpectedStatusError } from './step-errors.ts';

/** The first-party session API (`/authentication/*`) that both reference systems log in through. */
export const sessionCookie = SESSION_COOKIE;

export async function sessionLogin(http: VuHttp, username: string, password: string): Promise<void> {
  http.cookies.clear();
  await http.request('POST', '/authentication/login', { json: { username, password } });
  if (!http.cookies.has(sessionCookie)) throw new StepFailedError('no session cookie');
}

export async function sessionRegister(http: VuHttp, username: string, password: string): Promise<void> {
  try {
    await http.request('POST', '/authentication/registration', { json: { username, password } });
  } catch (err) {
    // Already there (a re-run of setup after a later step failed): logging in is what we want anyway.
    if (!(err instanceof UnexpectedStatusError && err.status === 409)) throw err;
  }
}

export async function sessionWhoami(http: VuHttp, username: string): Promise<void> {
  const res = await http.request('GET', '/authentication/whoami');
  const body = res.json() as { username?: unknown } | undefined;
  if (typeof body?.username !== 'string' || body.username.toLowerCase() !== username.toLowerCase()) {
    throw new StepFailedError('whoami mismatch', 'whoami did not name the logged-in user');
  }
}

/** A per-user name and password, unique per run: `bench-<run>-<users>-<index>`. */
export function benchAccount(
  runId: string,
  users: number,
  index: number,
): { username: string; password: string } {
  return { username: `bench-${runId}-${users}-${index}`, password: `Load test ${runId} secret ${index}!` };
}

/** The list in a JSON answer: the body itself, or its `items` / `data` / named array. */
export function listIn(body: unknown, name: string): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    for (const key of [name, 'items', 'data']) if (Array.isArray(o[key])) return o[key] as unknown[];
  }
  return undefined;
}

export function idOf(item: unknown): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const id = (item as Record<string, unknown>).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}
