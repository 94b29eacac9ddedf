import type { IncomingMessage, ServerResponse } from 'node:http';

export type ReadinessCheck = () => Promise<void>;

export interface HealthState {
  /** Each must answer for the process to be ready. */
  checks: Record<string, ReadinessCheck>;
  /**
   * Reported, but the process stays ready without them (status `degraded`): it still serves what it
   * can, and taking it out of rotation would take that away too.
   */
  degradable?: Record<string, ReadinessCheck>;
  draining: () => boolean;
}

/**
 * `/health/live` answers 200 while the process runs; `/health/ready` answers 200 only when every
 * required check passes (storage answers) and the process is not draining; a failing degradable
 * check makes it `degraded`, still 200. Returns false when the path is
 * not a health path, so callers can fall through to their own routing.
 */
export function handleHealth(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  state: HealthState,
): boolean {
  if (path === '/health/live') {
    writeJson(res, 200, { status: 'ok' });
    return true;
  }
  if (path !== '/health/ready') return false;
  if (state.draining()) {
    writeJson(res, 503, { status: 'draining' });
    return true;
  }
  const all = { ...state.degradable, ...state.checks };
  const names = Object.keys(all);
  Promise.all(
    names.map(async (name) => {
      try {
        await withTimeout(all[name]!(), 2000);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'failing'] as const;
      }
    }),
  ).then((results) => {
    const failing = results.filter(([, s]) => s === 'failing').map(([name]) => name);
    const ok = failing.every((name) => state.degradable?.[name] && !state.checks[name]);
    const status = failing.length === 0 ? 'ok' : ok ? 'degraded' : 'failing';
    writeJson(res, ok ? 200 : 503, { status, checks: Object.fromEntries(results) });
  });
  void req;
  return true;
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
