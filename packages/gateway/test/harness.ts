/**
 * Test fixtures for the gateway's request pipeline: a local ES256 key and token minting, an echo
 * upstream that reports exactly what it received, and a gateway on port 0 wired to both.
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createLogger, type Logger, openState, type SharedState } from '@gatehouse/core';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { createGateway, type Gateway, type GatewayOptions } from '../src/gateway.ts';

export const ISSUER = 'http://issuer.test/auth';
export const AUDIENCE = 'http://gateway.test';

export interface Keys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  kid: string;
}

export async function makeKeys(kid = 'test-key-1'): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicKey, kid };
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

let jtiCounter = 0;

/** An access token as the identity provider issues it; `claims` and `header` override the defaults. */
export async function mintToken(
  keys: Keys,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'alice',
    client_id: 'web',
    username: 'alice',
    roles: ['user'],
    scope: 'openid products:read',
    jti: `jti-${++jtiCounter}-${Math.random().toString(36).slice(2)}`,
    sid: 'sid-alice',
    iat: nowSec(),
    exp: nowSec() + 600,
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.kid, ...header })
    .sign(keys.privateKey);
}

/** A first-party session token (cookie `gatehouse_session`). */
export async function mintSession(keys: Keys, claims: JWTPayload = {}): Promise<string> {
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: 'gatehouse-session',
    sub: 'bob',
    username: 'bob',
    roles: ['user'],
    jti: `sess-${++jtiCounter}`,
    sid: 'sid-bob',
    iat: nowSec(),
    exp: nowSec() + 600,
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'gh-session+jwt', kid: keys.kid })
    .sign(keys.privateKey);
}

export async function publicJwk(keys: Keys): Promise<Record<string, unknown>> {
  return { ...(await exportJWK(keys.publicKey)), kid: keys.kid, alg: 'ES256', use: 'sig' };
}

export interface Echoed {
  method: string;
  url: string;
  /** Raw header pairs as received, names lower-cased. */
  rawHeaders: [string, string][];
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  body: string;
}

export interface Upstream {
  url: string;
  server: Server;
  /** Requests received so far. */
  received: Echoed[];
  close(): Promise<void>;
}

/** An upstream that answers 200 with a JSON description of the request it got. */
export async function startEcho(): Promise<Upstream> {
  const received: Echoed[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawHeaders: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      rawHeaders.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    }
    const echoed: Echoed = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders,
      headers: req.headers,
      trailers: req.trailers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    received.push(echoed);
    const body = JSON.stringify(echoed);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    received,
    close: () => closeServer(server),
  };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface Harness {
  gateway: Gateway;
  url: string;
  port: number;
  state: SharedState;
  keys: Keys;
  logLines: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/** A gateway on 127.0.0.1:0 whose verifier trusts `keys`, with a memory state and a captured log. */
export async function startGateway(
  gatewaySection: Record<string, unknown>,
  options: { keys?: Keys; state?: SharedState; jwksUri?: string; extra?: Partial<GatewayOptions> } = {},
): Promise<Harness> {
  const keys = options.keys ?? (await makeKeys());
  const state = options.state ?? (await openState({ driver: 'memory' }));
  const { logger, lines } = capturedLogger();
  const gateway = await createGateway({
    config: {
      auth: {
        issuer: ISSUER,
        audiences: [AUDIENCE],
        ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
      },
      ...gatewaySection,
    },
    state,
    logger,
    ...(options.jwksUri ? {} : { getKey: async () => keys.publicKey }),
    ...options.extra,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  return {
    gateway,
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    keys,
    logLines: lines,
    async close() {
      await gateway.close();
      if (!options.state) await state.close();
    },
  };
}

export function capturedLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const text: string[] = [];
  stream.on('data', (chunk: Buffer) => text.push(chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', destination: stream });
  return {
    logger,
    lines: () =>
      text
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

/**
 * A raw HTTP request: path sent byte for byte (no URL normalization by a client library), headers
 * as an ordered list so names can repeat and keep their case.
 */
export function send(
  base: string,
  path: string,
  options: {
    method?: string;
    headers?: [string, string][];
    body?: string;
    trailers?: [string, string][];
  } = {},
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const flat: string[] = [];
    // With a raw header list Node adds no Host header; HTTP/1.1 requires one.
    if (!(options.headers ?? []).some(([k]) => k.toLowerCase() === 'host')) flat.push('Host', url.host);
    for (const [k, v] of options.headers ?? []) flat.push(k, v);
    if (options.trailers) flat.push('Transfer-Encoding', 'chunked');
    const req = request({
      host: url.hostname,
      port: url.port,
      method: options.method ?? 'GET',
      path,
      headers: flat,
      agent: false,
      // Node refuses unescaped characters in paths unless told: we want to send the tricks as they are.
      insecureHTTPParser: true,
    });
    req.on('response', async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
    });
    req.on('error', reject);
    if (options.trailers) {
      req.write(options.body ?? 'x');
      req.addTrailers(Object.fromEntries(options.trailers));
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** The echo upstream's view of the request, from a 200 answer. */
export function echoed(a: Answer): Echoed {
  if (a.status !== 200) throw new Error(`expected 200 from upstream, got ${a.status}: ${a.text}`);
  return a.json() as unknown as Echoed;
}

/** Serve `{ keys: [...] }` at `/jwks`, counting fetches. */
export async function startJwks(
  jwks: Record<string, unknown>[],
): Promise<{ url: string; fetches: () => number; close(): Promise<void> }> {
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: jwks }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/jwks`, fetches: () => fetches, close: () => closeServer(server) };
}
