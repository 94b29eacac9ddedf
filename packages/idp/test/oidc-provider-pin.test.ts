import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { clientSecretMatches, hashClientSecret } from '../src/protocol/clients.ts';
import {
  bearerRefusal,
  cacheClientInstances,
  compareClientSecretsWith,
  endedSessionUid,
  findProviderClient,
  handReadBodyOn,
  interactionResultInPlace,
  isStructuredTokenRefusal,
  newGrantAccessToken,
  OIDC_PROVIDER_VERSION,
  resumePathPattern,
  validateClientMetadata,
} from '../src/protocol/oidc-provider-internals.ts';
import { ROUTES } from '../src/protocol/provider.ts';

// The idp relies on oidc-provider beyond its documented configuration and API only in
// src/protocol/oidc-provider-internals.ts. The dependency is pinned exactly, and each test below
// asserts one behaviour that module relies on against the installed oidc-provider, so an upgrade
// that changes one fails here, named, instead of somewhere in a login. The order of its adapter
// calls, which the storage adapter's read-ahead counts on, is recorded beside this file
// (oidc-provider-pin-call-order.test.ts).
const require = createRequire(import.meta.url);

test('oidc-provider is the exact version the idp was written against, pinned as such', () => {
  const installed = (require('oidc-provider/package.json') as { version: string }).version;
  assert.equal(OIDC_PROVIDER_VERSION, '9.13.3');
  assert.equal(installed, OIDC_PROVIDER_VERSION);
  const idp = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(idp.dependencies['oidc-provider'], OIDC_PROVIDER_VERSION, 'pinned exactly, not as a range');
});

const SECRET = 'a-client-secret';
const TEST_GRANT = 'urn:gatehouse:test:grant';
const RESOURCE = 'https://api.example.test/';

type Jar = Map<string, string>;

/** A provider on a loopback port, with the pieces of Gatehouse's configuration the tests need. */
async function startProvider(
  configure: (issuer: string) => Configuration,
  install?: (provider: Provider) => void,
  pages?: (provider: Provider, req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ provider: Provider; issuer: string; server: Server }> {
  let provider: Provider | undefined;
  let callback: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  const server = createServer((req, res) => {
    if (pages && req.url?.startsWith('/interaction/')) {
      pages(provider!, req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    void callback!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  provider = new Provider(issuer, configure(issuer));
  install?.(provider);
  callback = provider.callback();
  return { provider, issuer, server };
}

async function baseConfiguration(): Promise<Configuration> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  return {
    jwks: { keys: [jwk] } as Configuration['jwks'],
    routes: { ...ROUTES },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clients: [
      {
        client_id: 'confidential',
        client_secret: hashClientSecret(SECRET),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials', TEST_GRANT],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: 'app',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/cb'],
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function form(issuer: string, path: string, body: Record<string, string>, auth?: string): Promise<Response> {
  return fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: auth } : {}),
    },
    body: new URLSearchParams(body),
  });
}

function remember(jar: Jar, res: Response): void {
  for (const cookie of res.headers.getSetCookie()) {
    const [pair] = cookie.split(';');
    const at = pair!.indexOf('=');
    jar.set(pair!.slice(0, at), pair!.slice(at + 1));
  }
}

async function get(url: string, jar: Jar): Promise<Response> {
  const res = await fetch(url, {
    redirect: 'manual',
    headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  remember(jar, res);
  return res;
}

/** A JWS-shaped string: what oidc-provider's introspection and revocation take for a JWT. */
const JWT_SHAPED = `${Buffer.from('{"alg":"ES256","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.c2ln`;

describe('what oidc-provider-internals.ts relies on', () => {
  let provider: Provider;
  let issuer: string;
  let server: Server;
  let originalFinds = 0;
  const refusals: Array<{ event: string; error?: string }> = [];

  before(async () => {
    const configuration = await baseConfiguration();
    ({ provider, issuer, server } = await startProvider(
      () => configuration,
      (p) => {
        compareClientSecretsWith(p.Client, clientSecretMatches);
        // Count the lookups that reach oidc-provider's own find, under the cache.
        const find = p.Client.find;
        p.Client.find = async function countedFind(this: unknown, id: string) {
          originalFinds++;
          return find.call(this, id);
        };
        const entry = {};
        cacheClientInstances(p.Client, (id) => (id === 'confidential' ? entry : undefined));
        p.use(async (ctx, next) => {
          if (ctx.path === ROUTES.userinfo && ctx.method === 'POST' && ctx.get('x-read-first') === '1') {
            const chunks: Buffer[] = [];
            for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
            handReadBodyOn(ctx.req, Buffer.concat(chunks));
          }
          await next();
        });
        for (const event of ['introspection.error', 'revocation.error'] as const) {
          (p as unknown as NodeJS.EventEmitter).on(event, (_ctx: unknown, err: { error?: string }) =>
            refusals.push({ event, error: err.error }),
          );
        }
        p.registerGrantType(TEST_GRANT, async (ctx: KoaContextWithOIDC) => {
          const token = newGrantAccessToken(ctx, {
            accountId: 'alice',
            client: ctx.oidc.client!,
            scope: 'read',
            gty: 'test',
            expiresIn: 60,
            resource: { indicator: RESOURCE, scope: 'read write', alg: 'ES256' },
          });
          ctx.body = {
            access_token: await token.save(),
            is_entity: ctx.oidc.entities.AccessToken === token,
          };
        });
      },
    ));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('client_secret_basic is checked by the client prototype method compareClientSecret', async () => {
    const ok = await form(
      issuer,
      ROUTES.token,
      { grant_type: 'client_credentials' },
      basic('confidential', SECRET),
    );
    assert.equal(ok.status, 200, await ok.clone().text());
    const wrong = await form(
      issuer,
      ROUTES.token,
      { grant_type: 'client_credentials' },
      basic('confidential', 'nope'),
    );
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
  });

  test('without the replaced method the stored hash is compared as the secret itself', async () => {
    const configuration = await baseConfiguration();
    const other = await startProvider(
      () => configuration,
      (p) => p.registerGrantType(TEST_GRANT, async () => {}),
    );
    try {
      const res = await form(
        other.issuer,
        ROUTES.token,
        { grant_type: 'client_credentials' },
        basic('confidential', SECRET),
      );
      assert.equal(
        res.status,
        401,
        `oidc-provider compared secrets some other way: ${await res.clone().text()}`,
      );
    } finally {
      await new Promise<void>((resolve) => other.server.close(() => resolve()));
    }
  });

  test('client authentication looks the client up through the static Client.find, so the cache applies', async () => {
    const before = originalFinds;
    for (let i = 0; i < 3; i++) {
      const res = await form(
        issuer,
        ROUTES.token,
        { grant_type: 'client_credentials' },
        basic('confidential', SECRET),
      );
      assert.equal(res.status, 200);
    }
    assert.ok(originalFinds - before <= 1, `oidc-provider's find ran ${originalFinds - before} times`);
    const client = await findProviderClient(provider, 'confidential');
    assert.equal(client?.clientId, 'confidential');
    assert.equal(typeof client?.metadata, 'function');
  });

  test("Client.validate refuses metadata by oidc-provider's rules", async () => {
    await assert.rejects(
      validateClientMetadata(provider, { client_id: 'x', token_endpoint_auth_method: 'private_key_jwt' }),
      errors.InvalidClientMetadata,
    );
    await validateClientMetadata(provider, {
      client_id: 'x',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/cb'],
    });
  });

  test('introspection and revocation refuse a JWT with unsupported_token_type after client authentication', async () => {
    refusals.length = 0;
    for (const route of [ROUTES.introspection, ROUTES.revocation]) {
      const res = await form(issuer, route, { token: JWT_SHAPED }, basic('confidential', SECRET));
      assert.equal(res.status, 400);
    }
    assert.deepEqual(
      refusals.map((r) => r.event),
      ['introspection.error', 'revocation.error'],
    );
    for (const r of refusals) assert.ok(isStructuredTokenRefusal(r), `${r.event}: ${r.error}`);
    refusals.length = 0;
    await form(issuer, ROUTES.introspection, { token: JWT_SHAPED }, basic('confidential', 'nope'));
    assert.ok(!refusals.some(isStructuredTokenRefusal), 'refused before the client was authenticated');
  });

  test('userinfo refuses an unknown token exactly as bearerRefusal answers', async () => {
    const res = await fetch(`${issuer}${ROUTES.userinfo}`, {
      headers: { authorization: 'Bearer unknown-token' },
    });
    const expected = bearerRefusal(issuer, new errors.InvalidToken('access token not found'));
    assert.equal(res.status, expected.status);
    assert.equal(res.headers.get('www-authenticate'), expected.challenge);
    assert.deepEqual(await res.json(), expected.body);
  });

  test('userinfo refuses a token without openid exactly as bearerRefusal answers', async () => {
    const client = await findProviderClient(provider, 'app');
    const token = await new provider.AccessToken({
      accountId: 'alice',
      client: client!,
      grantId: 'g1',
      scope: 'profile',
    } as unknown as ConstructorParameters<typeof provider.AccessToken>[0]).save();
    const res = await fetch(`${issuer}${ROUTES.userinfo}`, { headers: { authorization: `Bearer ${token}` } });
    const expected = bearerRefusal(
      issuer,
      new errors.InsufficientScope('access token missing openid scope', 'openid'),
    );
    assert.equal(res.status, expected.status);
    assert.equal(res.headers.get('www-authenticate'), expected.challenge);
    assert.deepEqual(await res.json(), expected.body);
  });

  test('a body read before oidc-provider is read from req.body', async () => {
    const post = (readFirst: boolean) =>
      fetch(`${issuer}${ROUTES.userinfo}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(readFirst ? { 'x-read-first': '1' } : {}),
        },
        body: 'access_token=unknown-token',
      });
    const direct = await post(false);
    const handedOn = await post(true);
    assert.equal(direct.status, 401);
    assert.equal(handedOn.status, 401, 'the token in the already read body was not seen');
    assert.deepEqual(await handedOn.json(), await direct.json());
  });

  test('a custom grant issues a JWT for one resource with the model classes, as the request entity', async () => {
    const res = await form(issuer, ROUTES.token, { grant_type: TEST_GRANT }, basic('confidential', SECRET));
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { access_token: string; is_entity: boolean };
    assert.equal(body.is_entity, true);
    const claims = decodeJwt(body.access_token);
    assert.equal(claims.aud, RESOURCE);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.client_id, 'confidential');
    assert.equal(claims.scope, 'read');
    assert.equal(claims.iss, issuer);
  });

  test('a destroyed session says so, with its uid', async () => {
    const session = new provider.Session();
    session.accountId = 'alice';
    await session.save(60);
    const ctx = { oidc: { session } } as unknown as KoaContextWithOIDC;
    assert.equal(endedSessionUid(ctx), undefined);
    await session.destroy();
    assert.equal(typeof session.uid, 'string');
    assert.equal(endedSessionUid(ctx), session.uid);
  });
});

describe('an interaction result stored in place', () => {
  let issuer: string;
  let server: Server;
  const pattern = resumePathPattern(ROUTES.authorization);

  /** /interaction/:uid answers its details; /interaction/:uid/<mode> stores a login result. */
  async function pages(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [, , , mode] = (req.url ?? '').split('?')[0]!.split('/');
    const details = await provider.interactionDetails(req, res);
    const result = { login: { accountId: 'alice', amr: ['pwd'] } };
    if (mode === 'in-place') {
      const stored = interactionResultInPlace(details, result);
      await stored.save();
      res.writeHead(303, { location: stored.returnTo }).end();
    } else if (mode === 'provider') {
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          prompt: details.prompt.name,
          accountId: details.session?.accountId,
          returnTo: details.returnTo,
        }),
      );
    }
  }

  before(async () => {
    const configuration = await baseConfiguration();
    ({ issuer, server } = await startProvider(() => configuration, undefined, pages));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** An authorization request, its login stored by `mode`, the resume followed: what comes next. */
  async function signIn(mode: 'in-place' | 'provider') {
    const jar: Jar = new Map();
    const auth = new URL(`${issuer}${ROUTES.authorization}`);
    for (const [k, v] of Object.entries({
      client_id: 'app',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1/cb',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCp1ptNWCvTHdRCmSaSBqKi0',
      code_challenge_method: 'S256',
    }))
      auth.searchParams.set(k, v);
    const start = await get(auth.href, jar);
    assert.equal(start.status, 303, await start.text());
    const interactionPath = start.headers.get('location')!;
    const details = (await (await get(`${issuer}${interactionPath}`, jar)).json()) as {
      prompt: string;
      returnTo: string;
    };
    assert.equal(details.prompt, 'login');
    const stored = await get(`${issuer}${interactionPath}/${mode}`, jar);
    assert.equal(stored.status, 303);
    const returnTo = stored.headers.get('location')!;
    const resumed = await get(returnTo, jar);
    const next = resumed.headers.get('location') ?? '';
    const after = next.startsWith('/interaction/')
      ? ((await (await get(`${issuer}${next}`, jar)).json()) as { prompt: string; accountId?: string })
      : undefined;
    delete (after as { returnTo?: string } | undefined)?.returnTo;
    return { returnTo, detailsReturnTo: details.returnTo, resumed: resumed.status, after };
  }

  test('the resume route is the authorization route and the uid', async () => {
    const { returnTo } = await signIn('provider');
    assert.match(new URL(returnTo).pathname, pattern);
  });

  test('is taken by the resume as interactionFinished(mergeWithLastSubmission: false) is', async () => {
    const inPlace = await signIn('in-place');
    const finished = await signIn('provider');
    assert.equal(inPlace.returnTo, inPlace.detailsReturnTo);
    assert.equal(inPlace.resumed, finished.resumed);
    assert.deepEqual(inPlace.after, finished.after);
    assert.deepEqual(inPlace.after, { prompt: 'consent', accountId: 'alice' });
  });
});
