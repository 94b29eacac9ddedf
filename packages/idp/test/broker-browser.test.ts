import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, passwordStep } from '../../../test/support/chromium.ts';
import { type DemoUpstream, demoPeople, startDemoUpstream } from '../src/brokering/demo-upstream.ts';
import { createLinkedIdentities } from '../src/brokering/linked-identities.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { type AccountsIdp, serviceToken, startAccountsIdp } from './accounts-harness.ts';

/**
 * Brokering end to end in Chromium, with a real, separate OpenID provider upstream (the dev
 * stack's "Example Corp", an oidc-provider instance of its own) and a tampering proxy in front of
 * its token endpoint that re-signs the ID token with a wrong nonce, issuer, audience or key.
 */
const skip = chromiumSkip('the brokering browser tests');

type Tamper = 'nonce' | 'iss' | 'aud' | 'signature' | 'exp' | 'mix-up' | undefined;

describe('sign-in through an upstream OpenID provider, in Chromium', { skip }, () => {
  let t: AccountsIdp;
  let upstream: DemoUpstream;
  let browser: Browser;
  let rp: Server;
  let callbackUrl: string;
  let brokerCallback: string;
  let tamper: Tamper;
  let upstreamJwk: Record<string, unknown>;
  const people = [
    ...demoPeople,
    {
      username: 'lee',
      password: 'lee-example-corp',
      name: 'Lee Example',
      email: 'lee@example.com',
      emailVerified: true,
      groups: [],
    },
  ];

  /** Rewrites the upstream's token response: the ID token re-signed with one thing wrong. */
  const tamperingProxy =
    (handler: RequestListener): RequestListener =>
    (req, res) => {
      if (tamper === 'mix-up') {
        // The authorization response names another issuer (`iss`, RFC 9207).
        const setHeader = res.setHeader.bind(res);
        res.setHeader = (name: string, value: number | string | readonly string[]) => {
          if (name.toLowerCase() === 'location' && String(value).startsWith(brokerCallback)) {
            const url = new URL(String(value));
            url.searchParams.set('iss', 'http://127.0.0.1:1/attacker');
            return setHeader(name, url.href);
          }
          return setHeader(name, value);
        };
        return handler(req, res);
      }
      if (!tamper || !(req.url ?? '').startsWith('/token')) return handler(req, res);
      const mode = tamper;
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
      (res as unknown as { end: (chunk?: unknown) => void }).end = (chunk?: unknown) => {
        void (async () => {
          const body = JSON.parse(Buffer.from(chunk as Buffer).toString()) as Record<string, string>;
          if (body['id_token']) body['id_token'] = await forge(body['id_token'], mode);
          const text = JSON.stringify(body);
          res.setHeader('content-length', Buffer.byteLength(text));
          end(text);
        })();
      };
      handler(req, res);
    };

  async function forge(idToken: string, mode: NonNullable<Tamper>): Promise<string> {
    const claims = decodeJwt(idToken);
    if (mode === 'nonce') claims.nonce = 'not-the-nonce';
    if (mode === 'iss') claims.iss = 'http://127.0.0.1:1/other-issuer';
    if (mode === 'aud') claims.aud = 'someone-else';
    if (mode === 'exp') {
      claims.iat = Math.floor(Date.now() / 1000) - 7200;
      claims.exp = Math.floor(Date.now() / 1000) - 3600;
    }
    const key =
      mode === 'signature'
        ? (await generateKeyPair('ES256')).privateKey
        : await importJWK(upstreamJwk as never, 'ES256');
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'example-corp' }).sign(key);
  }

  before(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    upstreamJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'example-corp' };
    upstream = await startDemoUpstream({ people, jwks: { keys: [upstreamJwk] }, wrap: tamperingProxy });
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      idp: {
        brokering: {
          providers: [
            {
              id: 'example',
              name: 'Example Corp',
              issuer: upstream.issuer,
              clientId: upstream.clientId,
              clientSecret: upstream.clientSecret,
              scopes: ['openid', 'profile', 'email', 'groups'],
              roles: { claim: 'groups', map: { staff: ['staff'] }, defaultRoles: ['user'] },
            },
          ],
        },
      },
    });
    brokerCallback = `${t.origin}/auth/interaction/broker-callback`;
    upstream.setRedirectUris([brokerCallback]);
    rp = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback reached'),
    );
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/callback`;
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'broker-app',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [callbackUrl],
        postLogoutRedirectUris: [],
        scope: 'openid profile',
        roles: [],
        firstParty: true,
      }),
      'admin',
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rp?.closeAllConnections();
    await new Promise<void>((resolve) => (rp ? rp.close(() => resolve()) : resolve()));
    await t?.close();
    await upstream?.close();
  });

  /** Open the hosted login page of a fresh authorization request; resolves the PKCE verifier. */
  async function openLogin(context: BrowserContext): Promise<{ page: Page; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'broker-app',
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      state: 'rp-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const page = await context.newPage();
    await page.goto(url.toString(), { timeout: 30_000 });
    return { page, verifier };
  }

  /** Press the provider's button with the keyboard and sign in at Example Corp. */
  async function throughExampleCorp(page: Page, username: string, password: string): Promise<void> {
    const button = page.getByRole('button', { name: 'Sign in with Example Corp' });
    await button.focus();
    await Promise.all([
      page.waitForURL(`${upstream.issuer}/**`, { timeout: 30_000 }),
      page.keyboard.press('Enter'),
    ]);
    await page.getByLabel('Example Corp username').fill(username);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForURL((u) => !u.href.startsWith(upstream.issuer), { timeout: 30_000 }),
      page.getByRole('button', { name: 'Sign in to Example Corp' }).click(),
    ]);
    await page.waitForLoadState('load');
  }

  /** The `sub` of the ID token the downstream client gets for the code the browser reached it with. */
  async function subAtClient(page: Page, verifier: string): Promise<string> {
    await page.waitForURL(`${callbackUrl}?**`, { timeout: 30_000 });
    const code = new URL(page.url()).searchParams.get('code');
    assert.ok(code, 'the client received a code');
    const res = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: callbackUrl,
        client_id: 'broker-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200);
    const tokens = (await res.json()) as { id_token: string };
    return String(decodeJwt(tokens.id_token).sub);
  }

  async function errorCodeOn(page: Page): Promise<string | null> {
    return page.locator('code').first().textContent();
  }

  test('the login page offers a labelled button for the provider', async () => {
    const context = await browser.newContext();
    const { page } = await openLogin(context);
    const button = page.getByRole('button', { name: 'Sign in with Example Corp' });
    assert.equal(await button.count(), 1);
    assert.equal(await button.getAttribute('type'), 'submit');
    await context.close();
  });

  test('a first sign-in creates an account from the mapped claims, and the next one reaches the same sub', async () => {
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    await throughExampleCorp(page, 'dana', 'dana-example-corp');
    await page.getByRole('heading', { name: 'First sign-in with Example Corp' }).waitFor();
    await page.getByRole('button', { name: 'Create a new account' }).click();
    const sub = await subAtClient(page, verifier);
    const dana = await t.accounts.get(sub);
    assert.equal(dana?.username, 'dana');
    // Example Corp says it verified dana's address: it is taken; her group maps to a role.
    assert.equal(dana?.email, 'dana@example.com');
    assert.deepEqual(dana?.roles, ['staff', 'user']);
    const events = await t.accounts.audit.query({ subject: sub });
    assert.ok(events.some((e) => e.type === 'broker.account_created'));
    assert.ok(events.some((e) => e.type === 'broker.login'));
    await context.close();

    const again = await browser.newContext();
    const second = await openLogin(again);
    await throughExampleCorp(second.page, 'dana', 'dana-example-corp');
    assert.equal(await subAtClient(second.page, second.verifier), sub);
    await again.close();
  });

  test('an unverified upstream email is never taken, nor used to link', async () => {
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    await throughExampleCorp(page, 'sam', 'sam-example-corp');
    await page.getByRole('button', { name: 'Create a new account' }).click();
    const sam = await t.accounts.get(await subAtClient(page, verifier));
    assert.equal(sam?.username, 'sam');
    assert.equal(sam?.email, null);
    await context.close();
  });

  test("linking needs the account's own password; then either way in reaches the same sub", async () => {
    const bob = await t.accounts.getByUsername('bob');
    assert.ok(bob);
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    await throughExampleCorp(page, 'lee', 'lee-example-corp');
    // A wrong password links nothing.
    await page.locator('#link-username').fill('bob');
    await page.locator('#link-password').fill('not-bobs-password');
    await page.getByRole('button', { name: 'Link to my account' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').textContent(), 'Username or password is wrong');
    assert.deepEqual(await createLinkedIdentities(t.sql).listOf(bob.id), []);
    await page.locator('#link-username').fill('bob');
    await page.locator('#link-password').fill('bob-password');
    await page.getByRole('button', { name: 'Link to my account' }).click();
    assert.equal(await subAtClient(page, verifier), bob.id);
    await context.close();

    // Through Example Corp again, straight to bob's account; and bob's password: the same sub.
    const viaUpstream = await browser.newContext();
    const second = await openLogin(viaUpstream);
    await throughExampleCorp(second.page, 'lee', 'lee-example-corp');
    assert.equal(await subAtClient(second.page, second.verifier), bob.id);
    await viaUpstream.close();
    const viaPassword = await browser.newContext();
    const third = await openLogin(viaPassword);
    await passwordStep(third.page, 'bob', 'bob-password');
    assert.equal(await subAtClient(third.page, third.verifier), bob.id);
    await viaPassword.close();
    const events = await t.accounts.audit.query({ subject: bob.id, type: 'broker.linked' });
    assert.equal(events.length, 1);
  });

  test('a signed-in person unlinks a provider through the session API; the last way in cannot be removed', async () => {
    const context = await browser.newContext();
    const api = context.request;
    const login = await api.post(`${t.origin}/authentication/login`, {
      data: { username: 'bob', password: 'bob-password' },
      headers: { origin: t.origin },
    });
    assert.equal(login.status(), 200);
    const listed = await api.get(`${t.origin}/authentication/identities`);
    assert.equal(listed.status(), 200);
    const body = (await listed.json()) as { password: boolean; identities: { provider: string }[] };
    assert.equal(body.password, true);
    assert.deepEqual(
      body.identities.map((i) => i.provider),
      ['example'],
    );
    const unlinked = await api.post(`${t.origin}/authentication/identities/unlink`, {
      data: { provider: 'example' },
      headers: { origin: t.origin },
    });
    assert.equal(unlinked.status(), 200);
    const again = await api.post(`${t.origin}/authentication/identities/unlink`, {
      data: { provider: 'example' },
      headers: { origin: t.origin },
    });
    assert.equal(again.status(), 404);
    assert.equal(((await again.json()) as { error: string }).error, 'IDP_BROKER_IDENTITY_NOT_FOUND');
    assert.equal((await t.accounts.audit.query({ type: 'broker.unlinked' })).length, 1);

    // Link it back from the session: the browser goes to Example Corp and returns linked.
    const started = await api.post(`${t.origin}/authentication/identities/link`, {
      data: { provider: 'example' },
      headers: { origin: t.origin },
    });
    assert.equal(started.status(), 200);
    const page = await context.newPage();
    await page.goto(((await started.json()) as { location: string }).location);
    await page.getByLabel('Example Corp username').fill('lee');
    await page.getByLabel('Password').fill('lee-example-corp');
    await page.getByRole('button', { name: 'Sign in to Example Corp' }).click();
    await page.getByRole('heading', { name: 'Provider linked' }).waitFor({ timeout: 30_000 });
    const bob = await t.accounts.getByUsername('bob');
    assert.equal((await createLinkedIdentities(t.sql).listOf(bob!.id)).length, 1);
    await context.close();

    // dana has no password: Example Corp is her only way in, and stays linked.
    const dana = await t.accounts.getByUsername('dana');
    const identities = createLinkedIdentities(t.sql);
    await assert.rejects(identities.unlink(dana!.id, 'example'), { code: 'IDP_BROKER_LAST_SIGN_IN' });
    assert.equal((await identities.listOf(dana!.id)).length, 1);
  });

  for (const mode of ['nonce', 'iss', 'aud', 'signature', 'exp'] as const) {
    test(`an upstream ID token with a wrong ${mode} is refused and signs no one in`, async () => {
      const before = (await t.accounts.audit.query({ type: 'broker.login' })).length;
      tamper = mode;
      const context = await browser.newContext();
      try {
        const { page } = await openLogin(context);
        const answer = page.waitForResponse((r) => r.url().startsWith(brokerCallback));
        await throughExampleCorp(page, 'dana', 'dana-example-corp');
        assert.equal((await answer).status(), 400);
        assert.equal(await errorCodeOn(page), 'IDP_BROKER_RESPONSE_INVALID');
      } finally {
        tamper = undefined;
        await context.close();
      }
      assert.equal((await t.accounts.audit.query({ type: 'broker.login' })).length, before);
    });
  }

  test('an authorization response naming another issuer (mix-up, RFC 9207) is refused', async () => {
    tamper = 'mix-up';
    const context = await browser.newContext();
    try {
      const { page } = await openLogin(context);
      const answer = page.waitForResponse((r) => r.url().startsWith(brokerCallback));
      await throughExampleCorp(page, 'dana', 'dana-example-corp');
      assert.match((await answer).url(), /attacker/);
      assert.equal((await answer).status(), 400);
      assert.equal(await errorCodeOn(page), 'IDP_BROKER_RESPONSE_INVALID');
    } finally {
      tamper = undefined;
      await context.close();
    }
  });

  test('a replayed callback, an unknown state and an unknown provider are refused with their codes', async () => {
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    const callbacks: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(brokerCallback)) callbacks.push(r.url());
    });
    await throughExampleCorp(page, 'dana', 'dana-example-corp');
    await subAtClient(page, verifier);
    assert.equal(callbacks.length, 1);
    const replay = await page.goto(callbacks[0]!);
    assert.equal(replay?.status(), 400);
    assert.equal(await errorCodeOn(page), 'IDP_BROKER_STATE_INVALID');

    const forged = new URL(callbacks[0]!);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const mismatch = await page.goto(forged.href);
    assert.equal(mismatch?.status(), 400);
    assert.equal(await errorCodeOn(page), 'IDP_BROKER_STATE_INVALID');
    const none = await fetch(`${brokerCallback}?code=abc`);
    assert.equal(none.status, 400);
    assert.match(await none.text(), /IDP_BROKER_STATE_INVALID/);

    await context.close();

    const fresh = await browser.newContext();
    const other = await openLogin(fresh);
    await other.page
      .getByRole('button', { name: 'Sign in with Example Corp' })
      .evaluate((b) => b.setAttribute('value', 'nowhere'));
    const [unknown] = await Promise.all([
      other.page.waitForResponse((r) => r.url().endsWith('/broker')),
      other.page.getByRole('button', { name: 'Sign in with Example Corp' }).click(),
    ]);
    assert.equal(unknown.status(), 404);
    assert.equal(await errorCodeOn(other.page), 'IDP_BROKER_PROVIDER_UNKNOWN');
    await fresh.close();
  });

  test('the admin API lists the providers without secrets and says they answer, and unlinks, never the last way in', async () => {
    const token = await serviceToken(t, 'ops-robot', ['admin']);
    const call = (method: string, path: string) =>
      fetch(`${t.origin}/auth/admin${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const providers = await call('GET', '/brokering/providers');
    assert.equal(providers.status, 200);
    const listed = (await providers.json()) as Record<string, unknown>[];
    assert.equal(listed[0]?.['id'], 'example');
    assert.equal(listed[0]?.['confidential'], true);
    assert.equal(listed[0]?.['redirectUri'], brokerCallback);
    assert.equal('clientSecret' in listed[0]!, false);
    assert.deepEqual(listed[0]?.['status'], { reachable: true }, 'the upstream answers its discovery');

    const dana = await t.accounts.getByUsername('dana');
    const identities = await call('GET', `/users/${dana!.id}/identities`);
    assert.equal(identities.status, 200);
    assert.equal(((await identities.json()) as unknown[]).length, 1);
    const refused = await call('DELETE', `/users/${dana!.id}/identities/example`);
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { error: string }).error, 'IDP_BROKER_LAST_SIGN_IN');

    const bob = await t.accounts.getByUsername('bob');
    assert.equal((await call('DELETE', `/users/${bob!.id}/identities/example`)).status, 204);
    assert.equal((await createLinkedIdentities(t.sql).listOf(bob!.id)).length, 0);
    const none = await call('DELETE', `/users/${bob!.id}/identities/example`);
    assert.equal(none.status, 404);
    assert.equal(((await none.json()) as { error: string }).error, 'IDP_BROKER_IDENTITY_NOT_FOUND');
  });
});
