import { Agent, request } from 'undici';
import { CookieJar } from './cookie-jar.ts';
import { UnexpectedStatusError } from './step-errors.ts';

export interface BenchResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json(): unknown;
  location(): string | undefined;
}

export interface BenchRequest {
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** Statuses that count as success: a list, or 'any'. Default: 200–299. */
  expect?: number[] | 'any';
}

/**
 * The connection pool every virtual user of a run shares: one undici Agent with as many connections
 * per origin as there are users, so no user waits for a socket held by another.
 */
export class BenchHttp {
  readonly target: URL;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #onRequest: () => void;

  constructor(options: { target: string; connections: number; timeoutMs: number; onRequest?: () => void }) {
    this.target = new URL(options.target);
    this.#timeoutMs = options.timeoutMs;
    this.#onRequest = options.onRequest ?? (() => {});
    this.#agent = new Agent({
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.timeoutMs },
    });
  }

  /** A virtual user's view: shares the pool, has its own cookies. */
  session(): VuHttp {
    return new VuHttp(this);
  }

  async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: string,
  ): Promise<BenchResponse> {
    this.#onRequest();
    const res = await request(url, {
      method,
      headers,
      body,
      dispatcher: this.#agent,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    const text = await res.body.text();
    const resHeaders = res.headers as BenchResponse['headers'];
    return {
      status: res.statusCode,
      headers: resHeaders,
      text,
      json() {
        try {
          return JSON.parse(text);
        } catch {
          return undefined;
        }
      },
      location() {
        const l = resHeaders.location;
        return Array.isArray(l) ? l[0] : l;
      },
    };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** One virtual user's HTTP client: relative paths resolve against the target, cookies persist. */
export class VuHttp {
  readonly cookies = new CookieJar();
  readonly #pool: BenchHttp;

  constructor(pool: BenchHttp) {
    this.#pool = pool;
  }

  get target(): URL {
    return this.#pool.target;
  }

  async request(method: string, pathOrUrl: string, options: BenchRequest = {}): Promise<BenchResponse> {
    const url = new URL(pathOrUrl, this.#pool.target);
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const cookie = this.cookies.header();
    if (cookie !== undefined && url.origin === this.#pool.target.origin) headers.cookie = cookie;
    const res = await this.#pool.send(method, url, headers, body);
    if (url.origin === this.#pool.target.origin) this.cookies.store(res.headers['set-cookie']);
    const expect = options.expect ?? 'success';
    const ok =
      expect === 'any' ||
      (expect === 'success' ? res.status >= 200 && res.status < 300 : expect.includes(res.status));
    if (!ok) throw new UnexpectedStatusError(res.status, method, url.pathname);
    return res;
  }
}
