/**
 * A stand-in identity provider for sdk tests: an ES256 key pair, a JWKS served by node:http on
 * 127.0.0.1 (requests counted), and helpers that sign valid and deliberately hostile tokens.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';

export const ISSUER_PATH = '/auth';

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

export async function makeKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  key: TestKey;
  /** Keys the JWKS endpoint serves; change it to rotate. */
  served: TestKey[];
  /** JWKS requests received so far. */
  requests: number;
  /** When false, the JWKS endpoint answers 503. */
  up: boolean;
  sign(claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: TestKey): Promise<string>;
  close(): Promise<void>;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const key = await makeKey('key-1');
  let server: Server | undefined;
  const state: TestIssuer = {
    issuer: '',
    jwksUri: '',
    key,
    served: [key],
    requests: 0,
    up: true,
    async sign(claims = {}, header = {}, signingKey = key) {
      const now = nowSec();
      return new SignJWT({
        iss: state.issuer,
        sub: 'user-1',
        aud: 'orders',
        client_id: 'web',
        scope: 'openid orders:read',
        roles: ['customer'],
        jti: `jti-${Math.random().toString(36).slice(2)}`,
        sid: 'session-1',
        username: 'alice',
        iat: now,
        exp: now + 300,
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signingKey.kid, ...header })
        .sign(signingKey.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    if (req.url !== `${ISSUER_PATH}/jwks`) {
      res.writeHead(404).end();
      return;
    }
    state.requests++;
    if (!state.up) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.served.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.issuer = `http://127.0.0.1:${port}${ISSUER_PATH}`;
  state.jwksUri = `${state.issuer}/jwks`;
  return state;
}

/** A compact JWS assembled by hand, for tokens no honest library would produce. */
export function rawToken(header: unknown, payload: unknown, signature = ''): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

/**
 * A compact JWS over exactly these header and claims texts, validly ES256-signed by `key`: for
 * tokens whose JSON no library would write (repeated members, `1e400`), so that only the verifier's
 * reading of the text can refuse them.
 */
export async function signText(headerText: string, claimsText: string, key: TestKey): Promise<string> {
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(claimsText).toString('base64url')}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}
