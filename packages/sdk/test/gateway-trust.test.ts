import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { createNodeGuard } from '../src/guards/node-http.ts';
import { createAssertionSigner, createVerifier, type Principal } from '../src/index.ts';
import { makeKey, nowSec, startTestIssuer, type TestIssuer, type TestKey } from './support/test-issuer.ts';

const GATEWAY = 'gatehouse-gateway';

const caller: Principal = {
  kind: 'user',
  subject: 'alice-id',
  clientId: 'web',
  username: 'alice',
  roles: ['customer'],
  scopes: ['openid', 'orders:read'],
  audience: ['orders'],
  sessionId: 'session-1',
  tokenId: 'token-jti-1',
  expiresAt: nowSec() + 600,
  claims: {},
};

function listener(guard: ReturnType<typeof createNodeGuard>) {
  const answer = (req: IncomingMessage & { principal: Principal }, res: ServerResponse) => {
    const { kind, subject, clientId, username, roles, scopes, sessionId, tokenId } = req.principal;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind, subject, clientId, username, roles, scopes, sessionId, tokenId }));
  };
  const me = guard.protect(answer);
  const admin = guard.protect(answer, guard.requireRoles('admin'));
  return (req: IncomingMessage, res: ServerResponse) =>
    (req.url?.startsWith('/admin') ? admin : me)(req, res);
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('gateway trust by signed assertion', () => {
  let idp: TestIssuer;
  let gatewayKey: TestKey;
  let server: Server;
  let base: string;

  before(async () => {
    idp = await startTestIssuer();
    gatewayKey = await makeKey('gw-1');
    const guard = createNodeGuard({
      verifier: createVerifier({ issuer: idp.issuer, audiences: ['orders'] }),
      gateway: { assertion: { issuer: GATEWAY, audience: 'orders', jwks: { keys: [gatewayKey.publicJwk] } } },
    });
    server = createServer(listener(guard));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await close(server);
    await idp.close();
  });

  const signer = () =>
    createAssertionSigner({ issuer: GATEWAY, privateKey: gatewayKey.privateKey, kid: 'gw-1' });
  const identityHeaders = {
    'x-user-id': 'alice-id',
    'x-user-name': 'alice',
    'x-user-roles': 'customer',
    'x-client-id': 'web',
    'x-scopes': 'openid orders:read',
  };

  async function call(path: string, headers: Record<string, string>, method = 'GET') {
    const res = await fetch(`${base}${path}`, { method, headers });
    return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json() };
  }

  /** A hand-made assertion: valid unless a test overrides something. */
  async function crafted(
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key = gatewayKey,
  ) {
    const now = nowSec();
    return new SignJWT({
      iss: GATEWAY,
      aud: 'orders',
      sub: 'alice-id',
      jti: 'a-1',
      iat: now,
      exp: now + 30,
      kind: 'user',
      client_id: 'web',
      roles: ['customer'],
      scope: 'openid orders:read',
      htm: 'GET',
      htu: '/me',
      token_jti: 'token-jti-1',
      token_exp: now + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'gh-assertion+jwt', kid: 'gw-1', ...header })
      .sign(key.privateKey);
  }

  it('accepts the identity headers with a valid assertion and returns the asserted principal', async () => {
    const assertion = await signer().sign({
      principal: caller,
      audience: 'orders',
      method: 'GET',
      path: '/me',
    });
    const res = await call('/me?x=1', { ...identityHeaders, 'x-gatehouse-assertion': assertion });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      kind: 'user',
      subject: 'alice-id',
      clientId: 'web',
      username: 'alice',
      roles: ['customer'],
      scopes: ['openid', 'orders:read'],
      sessionId: 'session-1',
      tokenId: 'token-jti-1',
    });
  });

  it('refuses a missing role with 403 after a valid assertion', async () => {
    const assertion = await signer().sign({
      principal: caller,
      audience: 'orders',
      method: 'GET',
      path: '/admin',
    });
    const res = await call('/admin', { ...identityHeaders, 'x-gatehouse-assertion': assertion });
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'SDK_INSUFFICIENT_ROLE');
  });

  it('ignores identity headers that come without an assertion', async () => {
    const res = await call('/me', identityHeaders);
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'SDK_TOKEN_MISSING');
    assert.equal(res.challenge, 'Bearer');
  });

  it('still accepts a bearer token when there is no assertion', async () => {
    const res = await call('/me', { authorization: `Bearer ${await idp.sign({ sub: 'svc-caller' })}` });
    assert.equal(res.status, 200);
    assert.equal(res.body.subject, 'svc-caller');
  });

  const refusals: Array<{ name: string; headers: () => Promise<Record<string, string>>; method?: string }> = [
    { name: 'an empty assertion', headers: async () => ({ 'x-gatehouse-assertion': '' }) },
    { name: 'an assertion that is not a JWT', headers: async () => ({ 'x-gatehouse-assertion': 'garbage' }) },
    {
      name: 'an expired assertion',
      headers: async () => ({
        'x-gatehouse-assertion': await crafted({ iat: nowSec() - 100, exp: nowSec() - 40 }),
      }),
    },
    {
      name: 'an assertion that lives longer than 60 s',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({ exp: nowSec() + 3600 }) }),
    },
    {
      name: 'an assertion for another service',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({ aud: 'payments' }) }),
    },
    {
      name: 'an assertion from another issuer',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({ iss: 'someone-else' }) }),
    },
    {
      name: 'an assertion signed by another key under the gateway kid',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({}, {}, await makeKey('gw-1')) }),
    },
    {
      name: 'an assertion made for another path',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({ htu: '/other' }) }),
    },
    {
      name: 'an assertion made for another method',
      method: 'POST',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({ htm: 'GET' }) }),
    },
    {
      name: 'identity headers that differ from the assertion',
      headers: async () => ({
        ...identityHeaders,
        'x-user-roles': 'admin',
        'x-gatehouse-assertion': await crafted(),
      }),
    },
    {
      name: 'an access token passed off as an assertion',
      headers: async () => ({ 'x-gatehouse-assertion': await crafted({}, { typ: 'at+jwt' }) }),
    },
    {
      name: 'an assertion carrying its own key in a jwk header',
      headers: async () => ({
        'x-gatehouse-assertion': await crafted({}, { jwk: gatewayKey.publicJwk }),
      }),
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} with 401 SDK_ASSERTION_INVALID`, async () => {
      const res = await call('/me', await r.headers(), r.method);
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'SDK_ASSERTION_INVALID');
      assert.match(res.challenge ?? '', /^Bearer error="invalid_token", error_description="[^"]+"$/);
    });
  }
});

describe('gateway trust by mTLS', () => {
  const fixture = (name: string) => readFileSync(new URL(`./fixtures/mtls/${name}`, import.meta.url));
  let server: ReturnType<typeof createHttpsServer>;
  let base: string;
  let idp: TestIssuer;

  before(async () => {
    idp = await startTestIssuer();
    const guard = createNodeGuard({
      verifier: createVerifier({ issuer: idp.issuer, audiences: ['orders'] }),
      gateway: { mtls: { allowedSubjects: ['gateway.internal'] } },
    });
    server = createHttpsServer(
      {
        cert: fixture('server.crt'),
        key: fixture('server.key'),
        ca: fixture('ca.crt'),
        requestCert: true,
        rejectUnauthorized: false,
      },
      listener(guard),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await close(server);
    await idp.close();
  });

  async function call(client: string | undefined, headers: Record<string, string>) {
    const dispatcher = new Agent({
      connect: {
        ca: fixture('ca.crt'),
        ...(client ? { cert: fixture(`${client}.crt`), key: fixture(`${client}.key`) } : {}),
      },
    });
    try {
      const res = await request(`${base}/me`, { headers, dispatcher });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    } finally {
      await dispatcher.close();
    }
  }

  const headers = {
    'x-user-id': 'alice-id',
    'x-user-roles': 'customer,admin',
    'x-client-id': 'web',
    'x-scopes': 'a b',
  };

  it('accepts the identity headers from the gateway certificate', async () => {
    const res = await call('gateway', headers);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      kind: 'user',
      subject: 'alice-id',
      clientId: 'web',
      roles: ['customer', 'admin'],
      scopes: ['a', 'b'],
      tokenId: '',
    });
  });

  for (const [client, why] of [
    ['intruder', 'a certificate of the same CA naming another service'],
    ['rogue', 'a self-signed certificate naming the gateway'],
    [undefined, 'no client certificate'],
  ] as const) {
    it(`ignores the identity headers with ${why}`, async () => {
      const res = await call(client, headers);
      assert.equal(res.status, 401);
      assert.equal(res.body['error'], 'SDK_TOKEN_MISSING');
    });
  }

  it('falls back to the bearer token on a gateway connection without identity headers', async () => {
    const res = await call('gateway', { authorization: `Bearer ${await idp.sign({ sub: 'bob-id' })}` });
    assert.equal(res.status, 200);
    assert.equal(res.body['subject'], 'bob-id');
  });
});
