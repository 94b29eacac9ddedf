import type { IncomingMessage, ServerResponse } from 'node:http';

export type ReadinessCheck = () => Promise<void>;

/**
 * `/health/live` answers 200 while the process runs; `/health/ready` answers 200 only when every
 * check passes (storage answers) and the process is not draining. Returns false when the path is
 * not a health path, so callers can fall through to their own routing.
 */
export function handleHealth(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  state: { checks: Record<string, ReadinessCheck>; draining: () => boolean },
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
  const names = Object.keys(state.checks);
  Promise.all(
    names.map(async (name) => {
      try {
        await withTimeout(state.checks[name]!(), 2000);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'failing'] as const;
      }
    }),
  ).then((results) => {
    const ok = results.every(([, s]) => s === 'ok');
    writeJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'failing', checks: Object.fromEntries(results) });
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
