/**
 * Loopback upstream replicas and a minimal front server around an upstream pool, for the
 * upstream-*.test.ts files. Every server listens on port 0 of 127.0.0.1.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsRegistry, sendError, silentLogger } from '@gatehouse/core';
import {
  createUpstreamPool,
  type UpstreamPoolHandle,
  type UpstreamPoolRoute,
} from '../src/upstreams/upstream-pool.ts';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type ReplicaHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A replica that answers `{ replica: name }` by default, `/health` with 200, and records what it saw. */
export class Replica {
  readonly name: string;
  readonly seen: Seen[] = [];
  handler: ReplicaHandler;
  healthStatus = 200;
  port = 0;
  #server: Server | undefined;

  constructor(name: string, handler?: ReplicaHandler) {
    this.name = name;
    this.handler =
      handler ??
      ((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ replica: this.name }));
      });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests other than health probes. */
  get hits(): Seen[] {
    return this.seen.filter((s) => s.url !== '/health');
  }

  async start(): Promise<this> {
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const c of req) chunks.push(c as Buffer);
      } catch {
        return; // the sender went away mid-body
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/health') {
        this.seen.push({ method: req.method!, url: req.url, headers: req.headers, body });
        res.writeHead(this.healthStatus).end();
        return;
      }
      this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      this.handler(req, res, body);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stop listening and cut every open connection, as a crashed process would. */
  async kill(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }
}

export interface Front {
  url: string;
  pool: UpstreamPoolHandle;
  close(): Promise<void>;
}

/** A server that forwards every request through a pool built from `route`, answering pool errors with sendError. */
export async function startFront(
  route: Partial<UpstreamPoolRoute> & Pick<UpstreamPoolRoute, 'upstreams'>,
): Promise<Front> {
  const pool = createUpstreamPool(
    { id: 'test', balance: 'round-robin', timeoutMs: 5000, retries: 1, ...route },
    { logger: silentLogger(), metrics: createMetricsRegistry('gateway-test') },
  );
  const server = createServer((req, res) => {
    const headers: Record<string, string> = { host: req.headers.host ?? 'localhost' };
    // `expect` too: the pipeline's sanitizer keeps it, and the pool must cope.
    for (const name of ['content-type', 'content-length', 'x-test', 'expect']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    pool.forward(req, res, { path: req.url ?? '/', headers }).catch((err: unknown) => sendError(res, err));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    pool,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
      await pool.close();
    },
  };
}

/** Call `check` until it returns true, up to `timeoutMs` (generous: the machine may be loaded). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
