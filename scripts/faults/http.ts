import { Agent, fetch } from 'undici';

/** What one request came to: its status, or the network error's code when nothing came back. */
export interface Answer {
  status: number;
  /** 0 when no answer came back: the error code (ECONNRESET, UND_ERR_SOCKET, TIMEOUT...). */
  error?: string;
  body: string;
  headers: Headers;
}

/** HTTPS to the topology, trusting its CA and no other, with a per-request timeout. */
export class TopologyHttp {
  readonly agent: Agent;
  readonly timeoutMs: number;

  /** `connections`: keep-alive connections to one origin at most; more requests wait for one. */
  constructor(ca: string, timeoutMs = 15_000, connections = 256) {
    this.agent = new Agent({ connect: { ca, servername: 'localhost' }, connections });
    this.timeoutMs = timeoutMs;
  }

  async request(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Answer> {
    try {
      const res = await fetch(url, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.body,
        redirect: 'manual',
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.status, body: await res.text(), headers: res.headers as unknown as Headers };
    } catch (err) {
      const e = err as { name?: string; code?: string; cause?: { code?: string; message?: string } };
      const error =
        e.name === 'TimeoutError' ? 'TIMEOUT' : (e.cause?.code ?? e.code ?? e.cause?.message ?? String(err));
      return { status: 0, error, body: '', headers: new Headers() };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** The cookies a browser would keep for the topology's one origin (paths are not told apart). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  delete(name: string): void {
    this.#cookies.delete(name);
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
