import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createServiceClient, SdkError } from '../src/index.ts';
import { makeKey, type TestKey } from './support/test-issuer.ts';

/** A small OAuth token endpoint: client credentials with client_secret_basic or private_key_jwt. */
class TokenEndpoint {
  server: Server | undefined;
  port = 0;
  requests: URLSearchParams[] = [];
  expiresIn = 600;
  /** While set, token responses wait for it. */
  hold: Promise<void> | undefined;
  clientKey: TestKey | undefined;
  issued = 0;

  get issuer(): string {
    return `http://127.0.0.1:${this.port}/auth`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }

  async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    if (req.method === 'GET' && req.url === '/auth/.well-known/openid-configuration') {
      return { status: 200, body: { issuer: this.issuer, token_endpoint: `${this.issuer}/token` } };
    }
    if (req.method !== 'POST' || req.url !== '/auth/token') return { status: 404, body: {} };
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const form = new URLSearchParams(raw);
    this.requests.push(form);
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials' && grant !== 'urn:ietf:params:oauth:grant-type:token-exchange') {
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    }
    const client = await this.authenticate(req, form);
    if (!client) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'bad secret: s3cret?' } };
    }
    if (grant !== 'client_credentials') return this.exchange(client, form);
    await this.hold;
    this.issued++;
    return {
      status: 200,
      body: {
        access_token: `token-${this.issued}-${client}-${form.get('resource') ?? 'default'}`,
        token_type: 'Bearer',
        expires_in: this.expiresIn,
      },
    };
  }

  /** RFC 8693: a narrowed token for the user of the subject token; wider scope than "orders:add" is refused. */
  exchange(client: string, form: URLSearchParams): { status: number; body: unknown } {
    const subject = form.get('subject_token');
    if (
      !subject ||
      form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:access_token' ||
      form.get('requested_token_type') !== 'urn:ietf:params:oauth:token-type:access_token'
    ) {
      return { status: 400, body: { error: 'invalid_request' } };
    }
    if ((form.get('scope') ?? '') !== 'orders:add') return { status: 400, body: { error: 'invalid_scope' } };
    this.issued++;
    return {
      status: 200,
      body: {
        access_token: `exchanged-${this.issued}-${subject}-for-${client}-${form.get('resource')}`,
        issued_token_type: this.issuedTokenType,
        token_type: 'Bearer',
        expires_in: this.expiresIn,
      },
    };
  }

  issuedTokenType: string | undefined = 'urn:ietf:params:oauth:token-type:access_token';

  async authenticate(req: IncomingMessage, form: URLSearchParams): Promise<string | undefined> {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const [id, secret] = Buffer.from(basic[1], 'base64')
        .toString()
        .split(':')
        .map((v) => decodeURIComponent(v.replaceAll('+', ' ')));
      return id === 'products' && secret === 'products secret/+&' ? id : undefined;
    }
    const assertion = form.get('client_assertion');
    if (
      form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' &&
      assertion &&
      this.clientKey
    ) {
      try {
        const { payload } = await jwtVerify(
          assertion,
          createLocalJWKSet({ keys: [this.clientKey.publicJwk] }),
          {
            issuer: 'products-jwt',
            subject: 'products-jwt',
            audience: this.issuer,
            requiredClaims: ['jti', 'exp', 'iat'],
          },
        );
        return payload.sub;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, status: number): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SdkError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** Wait for a condition on a loaded machine: poll, bounded by real time (Date may be mocked). */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('service client', () => {
  const idp = new TokenEndpoint();
  before(async () => {
    await idp.start();
  });
  after(() => idp.stop());
  beforeEach(() => {
    idp.requests = [];
    idp.expiresIn = 600;
  });

  const secretClient = (extra = {}) =>
    createServiceClient({
      tokenEndpoint: `${idp.issuer}/token`,
      clientId: 'products',
      credentials: { clientSecret: 'products secret/+&' },
      ...extra,
    });

  it('gets a token with client_secret_basic and the audience as resource', async () => {
    const token = await secretClient().getToken({ audience: 'http://orders', scope: 'orders:add' });
    assert.match(token, /^token-\d+-products-http:\/\/orders$/);
    assert.equal(idp.requests.length, 1);
    assert.equal(idp.requests[0]?.get('resource'), 'http://orders');
    assert.equal(idp.requests[0]?.get('scope'), 'orders:add');
  });

  it('caches one token per audience', async () => {
    const client = secretClient();
    const a1 = await client.getToken({ audience: 'http://orders' });
    const a2 = await client.getToken({ audience: 'http://orders' });
    const b = await client.getToken({ audience: 'http://payments' });
    assert.equal(a2, a1);
    assert.notEqual(b, a1);
    assert.deepEqual(
      idp.requests.map((r) => r.get('resource')),
      ['http://orders', 'http://payments'],
    );
  });

  it('gets a token with private_key_jwt, finding the token endpoint by discovery', async () => {
    idp.clientKey = await makeKey('products-key');
    const client = createServiceClient({
      issuer: idp.issuer,
      clientId: 'products-jwt',
      credentials: { privateKey: idp.clientKey.privateKey, kid: 'products-key' },
    });
    const token = await client.getToken({ audience: 'http://orders' });
    assert.match(token, /^token-\d+-products-jwt-http:\/\/orders$/);
    assert.equal(idp.requests[0]?.get('client_id'), 'products-jwt');
  });

  it('runs one token request for many concurrent callers', async () => {
    let release = () => {};
    idp.hold = new Promise((resolve) => {
      release = resolve;
    });
    const client = secretClient();
    const pending = Array.from({ length: 5 }, () => client.getToken({ audience: 'http://orders' }));
    await until(() => idp.requests.length === 1, 'the token request');
    release();
    idp.hold = undefined;
    const tokens = await Promise.all(pending);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(idp.requests.length, 1);
  });

  it('refreshes shortly before expiry while still handing out the cached token', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    idp.expiresIn = 60;
    const client = secretClient({ refreshBeforeExpirySec: 10 });
    const first = await client.getToken();
    t.mock.timers.tick(45_000);
    assert.equal(await client.getToken(), first, 'not yet in the refresh window');
    assert.equal(idp.requests.length, 1);
    t.mock.timers.tick(6_000);
    assert.equal(await client.getToken(), first, 'the cached token while the refresh runs');
    await until(async () => (await client.getToken()) !== first, 'the refreshed token');
    assert.equal(idp.requests.length, 2);
  });

  it('answers SDK_TOKEN_REQUEST_REFUSED (502) for a wrong secret, without echoing the description', async () => {
    const client = createServiceClient({
      tokenEndpoint: `${idp.issuer}/token`,
      clientId: 'products',
      credentials: { clientSecret: 'wrong' },
    });
    const err = await rejectsWith(client.getToken(), 'SDK_TOKEN_REQUEST_REFUSED', 502);
    assert.equal(
      err.message,
      'No service token: the token endpoint refused the request (401 invalid_client)',
    );
  });

  it('adds the token to fetch', async () => {
    const target = createServer((req, res) => res.end(req.headers.authorization ?? 'none'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      const client = secretClient();
      const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/orders`;
      const res = await client.fetch(
        url,
        { headers: { authorization: 'Bearer spoofed' } },
        { audience: 'http://orders' },
      );
      assert.equal(await res.text(), `Bearer ${await client.getToken({ audience: 'http://orders' })}`);
    } finally {
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});

describe('token exchange (delegation)', () => {
  const idp = new TokenEndpoint();
  before(() => idp.start());
  after(() => idp.stop());
  beforeEach(() => {
    idp.requests = [];
  });
  const client = () =>
    createServiceClient({
      tokenEndpoint: `${idp.issuer}/token`,
      clientId: 'products',
      credentials: { clientSecret: 'products secret/+&' },
    });

  it('exchanges a user token for a narrowed one and caches it per user and audience', async () => {
    const c = client();
    const t1 = await c.exchangeToken({
      subjectToken: 'alice-token',
      audience: 'http://orders',
      scope: 'orders:add',
    });
    assert.match(t1, /^exchanged-\d+-alice-token-for-products-http:\/\/orders$/);
    const form = idp.requests[0];
    assert.equal(form?.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(form?.get('subject_token'), 'alice-token');
    assert.equal(form?.get('resource'), 'http://orders');
    assert.equal(form?.get('scope'), 'orders:add');
    assert.equal(
      await c.exchangeToken({ subjectToken: 'alice-token', audience: 'http://orders', scope: 'orders:add' }),
      t1,
    );
    const t2 = await c.exchangeToken({
      subjectToken: 'bob-token',
      audience: 'http://orders',
      scope: 'orders:add',
    });
    assert.notEqual(t2, t1);
    assert.equal(idp.requests.length, 2);
  });

  it('answers SDK_TOKEN_REQUEST_REFUSED when the identity provider refuses a wider scope', async () => {
    const err = await rejectsWith(
      client().exchangeToken({
        subjectToken: 'alice-token',
        audience: 'http://orders',
        scope: 'orders:add admin',
      }),
      'SDK_TOKEN_REQUEST_REFUSED',
      502,
    );
    assert.equal(err.message, 'No service token: the token endpoint refused the request (400 invalid_scope)');
  });

  it('refuses an answer that does not say it issued an access token', async () => {
    idp.issuedTokenType = undefined;
    try {
      await rejectsWith(
        client().exchangeToken({
          subjectToken: 'alice-token',
          audience: 'http://orders',
          scope: 'orders:add',
        }),
        'SDK_TOKEN_REQUEST_REFUSED',
        502,
      );
    } finally {
      idp.issuedTokenType = 'urn:ietf:params:oauth:token-type:access_token';
    }
  });
});

describe('service client while the identity provider is down', () => {
  const idp = new TokenEndpoint();
  before(() => idp.start());
  after(() => idp.stop());

  it('uses the cached token until it expires, then fails with 503, then recovers by itself', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    idp.expiresIn = 60;
    const client = createServiceClient({
      tokenEndpoint: `${idp.issuer}/token`,
      clientId: 'products',
      credentials: { clientSecret: 'products secret/+&' },
      refreshBeforeExpirySec: 30,
      backoff: { initialMs: 1_000, maxMs: 8_000 },
    });
    const cached = await client.getToken({ audience: 'http://orders' });
    await idp.stop();

    t.mock.timers.tick(40_000); // inside the refresh window: the refresh fails in the background
    assert.equal(await client.getToken({ audience: 'http://orders' }), cached);
    t.mock.timers.tick(5_000);
    assert.equal(await client.getToken({ audience: 'http://orders' }), cached, 'still valid: still used');

    t.mock.timers.tick(20_000); // past expiry
    await until(async () => {
      try {
        await client.getToken({ audience: 'http://orders' });
        return false;
      } catch (err) {
        return err instanceof SdkError && err.code === 'SDK_TOKEN_ENDPOINT_UNAVAILABLE' && err.status === 503;
      }
    }, 'SDK_TOKEN_ENDPOINT_UNAVAILABLE');

    // Inside the backoff, no request is even tried.
    await idp.start();
    const before = idp.requests.length;
    await rejectsWith(client.getToken({ audience: 'http://orders' }), 'SDK_TOKEN_ENDPOINT_UNAVAILABLE', 503);
    assert.equal(idp.requests.length, before);

    t.mock.timers.tick(8_001); // past the longest backoff
    const fresh = await client.getToken({ audience: 'http://orders' });
    assert.notEqual(fresh, cached);
    assert.match(fresh, /http:\/\/orders$/);
  });

  it('answers 503 at once when the identity provider was never reachable', async () => {
    const client = createServiceClient({
      tokenEndpoint: 'http://127.0.0.1:1/token',
      clientId: 'products',
      credentials: { clientSecret: 'x' },
    });
    await rejectsWith(client.getToken(), 'SDK_TOKEN_ENDPOINT_UNAVAILABLE', 503);
  });
});
