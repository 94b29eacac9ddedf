import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Probe {
  status: number | undefined;
  /** The answer's `status` field (`ok`, `degraded`...) or the connection error's code. */
  detail: string;
  ms: number;
}

/** One GET with a short timeout; https URLs are checked against `ca` with the name `localhost`. */
export function probe(url: string, ca: string | undefined, timeoutMs = 2000): Promise<Probe> {
  const started = performance.now();
  const u = new URL(url);
  return new Promise((resolve) => {
    const done = (status: number | undefined, detail: string) =>
      resolve({ status, detail, ms: Math.round(performance.now() - started) });
    const options = { method: 'GET', timeout: timeoutMs, agent: false as const };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...options, ca, servername: 'localhost' })
        : httpRequest(u, options);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        let detail = '';
        try {
          const parsed = JSON.parse(body) as { status?: unknown; error?: unknown };
          detail = String(parsed.status ?? parsed.error ?? '');
        } catch {
          detail = body.slice(0, 40).trim();
        }
        done(res.statusCode, detail);
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done(undefined, err.code ?? err.message));
    req.end();
  });
}

/** Wait until `url` answers 200, or throw after `timeoutMs` with the last answer. */
export async function waitHealthy(url: string, ca: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Probe | undefined;
  while (Date.now() < deadline) {
    last = await probe(url, ca);
    if (last.status === 200) return;
    await sleep(200);
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms (last: ${last?.status ?? last?.detail})`);
}
