/**
 * One table of guard scenarios, run against every framework adapter so that all of them answer
 * with the same statuses, codes, bodies and `WWW-Authenticate` headers.
 * Each adapter's app serves: GET /me (authenticated), POST /orders (scope orders:add),
 * GET /admin (role admin); each answers 200 with `{ subject, kind, clientId, scopes, roles }`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createVerifier, type Verifier } from '../../src/index.ts';
import { nowSec, type TestIssuer } from './test-issuer.ts';

export interface SimpleResponse {
  status: number;
  headers: Headers;
  body: string;
}

export type SendRequest = (
  method: string,
  path: string,
  headers: Record<string, string>,
) => Promise<SimpleResponse>;

export function guardVerifier(idp: TestIssuer): Verifier {
  return createVerifier({ issuer: idp.issuer, audiences: ['orders'] });
}

const INVALID = (description: string) => `Bearer error="invalid_token", error_description="${description}"`;

interface Case {
  name: string;
  method: string;
  path: string;
  headers: (idp: TestIssuer) => Promise<Record<string, string>>;
  status: number;
  code?: string;
  challenge?: string;
  body?: unknown;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const cases: Case[] = [
  {
    name: 'a request without a token',
    method: 'GET',
    path: '/me',
    headers: async () => ({}),
    status: 401,
    code: 'SDK_TOKEN_MISSING',
    challenge: 'Bearer',
  },
  {
    name: 'a token that is not a JWT',
    method: 'GET',
    path: '/me',
    headers: async () => bearer('not-a-jwt'),
    status: 401,
    code: 'SDK_TOKEN_MALFORMED',
    challenge: INVALID('The token is not a compact JWS'),
  },
  {
    name: 'another authorization scheme',
    method: 'GET',
    path: '/me',
    headers: async () => ({ authorization: 'Basic dXNlcjpwYXNz' }),
    status: 401,
    code: 'SDK_TOKEN_MALFORMED',
    challenge: INVALID('The Authorization header must be Bearer <token>'),
  },
  {
    name: 'a token with a bad signature',
    method: 'GET',
    path: '/me',
    headers: async (idp) => bearer(`${(await idp.sign()).slice(0, -6)}AAAAAA`),
    status: 401,
    code: 'SDK_SIGNATURE_INVALID',
    challenge: INVALID('The token signature is invalid'),
  },
  {
    name: 'an expired token',
    method: 'GET',
    path: '/me',
    headers: async (idp) => bearer(await idp.sign({ exp: nowSec() - 600 })),
    status: 401,
    code: 'SDK_TOKEN_EXPIRED',
    challenge: INVALID('The token has expired'),
  },
  {
    name: 'a token for another audience',
    method: 'GET',
    path: '/me',
    headers: async (idp) => bearer(await idp.sign({ aud: 'payments' })),
    status: 401,
    code: 'SDK_AUDIENCE_INVALID',
    challenge: INVALID('The token is not meant for this audience'),
  },
  {
    name: 'spoofed identity headers without proof from the gateway',
    method: 'GET',
    path: '/me',
    headers: async () => ({ 'x-user-id': 'admin', 'x-user-roles': 'admin', 'x-scopes': 'orders:add' }),
    status: 401,
    code: 'SDK_TOKEN_MISSING',
    challenge: 'Bearer',
  },
  {
    name: 'a token without the required scope',
    method: 'POST',
    path: '/orders',
    headers: async (idp) => bearer(await idp.sign({ scope: 'orders:read' })),
    status: 403,
    code: 'SDK_INSUFFICIENT_SCOPE',
    challenge:
      'Bearer error="insufficient_scope", error_description="The token lacks a required scope", scope="orders:add"',
  },
  {
    name: 'a token without the required role',
    method: 'GET',
    path: '/admin',
    headers: async (idp) => bearer(await idp.sign({ roles: ['customer'] })),
    status: 403,
    code: 'SDK_INSUFFICIENT_ROLE',
    challenge: 'Bearer error="insufficient_scope", error_description="One of these roles is required: admin"',
  },
  {
    name: 'a valid user token',
    method: 'GET',
    path: '/me',
    headers: async (idp) => bearer(await idp.sign({ sub: 'alice-id', roles: ['customer'], scope: 'openid' })),
    status: 200,
    body: { subject: 'alice-id', kind: 'user', clientId: 'web', scopes: ['openid'], roles: ['customer'] },
  },
  {
    name: 'a service token with the required scope',
    method: 'POST',
    path: '/orders',
    headers: async (idp) =>
      bearer(
        await idp.sign({
          sub: 'products',
          client_id: 'products',
          sid: undefined,
          username: undefined,
          roles: [],
          scope: 'orders:add',
        }),
      ),
    status: 200,
    body: { subject: 'products', kind: 'service', clientId: 'products', scopes: ['orders:add'], roles: [] },
  },
  {
    name: 'a token with the required role',
    method: 'GET',
    path: '/admin',
    headers: async (idp) => bearer(await idp.sign({ roles: ['customer', 'admin'], scope: '' })),
    status: 200,
    body: { subject: 'user-1', kind: 'user', clientId: 'web', scopes: [], roles: ['customer', 'admin'] },
  },
];

/** Register one test per scenario. */
export function guardCases(framework: string, idp: () => TestIssuer, send: () => SendRequest): void {
  for (const c of cases) {
    const expect = c.code ? `${c.status} ${c.code}` : `${c.status}`;
    it(`${framework}: ${c.name} → ${expect}`, async () => {
      const res = await send()(c.method, c.path, await c.headers(idp()));
      assert.equal(res.status, c.status, res.body);
      if (c.code) {
        assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.equal(res.headers.get('www-authenticate'), c.challenge);
        const body = JSON.parse(res.body) as { error: string; message: string };
        assert.deepEqual(Object.keys(body), ['error', 'message']);
        assert.equal(body.error, c.code);
      } else {
        assert.equal(res.headers.get('www-authenticate'), null);
        assert.deepEqual(JSON.parse(res.body), c.body);
      }
    });
  }
}

/** What the test apps answer for an authenticated request. */
export function principalBody(p: {
  subject: string;
  kind: string;
  clientId: string;
  scopes: string[];
  roles: string[];
}): string {
  return JSON.stringify({
    subject: p.subject,
    kind: p.kind,
    clientId: p.clientId,
    scopes: p.scopes,
    roles: p.roles,
  });
}

export async function fetchFrom(base: string, method: string, path: string, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, { method, headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
