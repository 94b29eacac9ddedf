import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { createGateway, type Gateway } from '@gatehouse/gateway';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { Replica } from '../packages/gateway/test/upstream-fixtures.ts';
import { clientMetadataFromConfig, upsertClient } from '../packages/idp/src/protocol/clients.ts';
import { type AccountsIdp, serviceToken, startAccountsIdp } from '../packages/idp/test/accounts-harness.ts';
import {
  addVirtualAuthenticator,
  chromiumSkip,
  launchChromium,
  passwordStep,
  replaceVirtualAuthenticator,
  WEBAUTHN_IN_PAGE,
} from './support/chromium.ts';

// Passkeys through Chromium's virtual authenticator (CDP WebAuthn domain): registered over the
// session API, used as the second factor and alone (passwordless) on the hosted pages, the same
// `sub` either way; assertions with a wrong origin, RP ID, challenge or a stale counter refused; and
// a gateway route that needs the MFA level refusing a password-only token (RFC 9470) and passing
// the passkey sign-in's token.
const skip = chromiumSkip('the passkey browser tests');

const MFA = 'urn:gatehouse:acr:mfa';
type Json = Record<string, unknown>;

describe('passkeys in Chromium, and step-up at the gateway', { skip, timeout: 240_000 }, () => {
  let t: AccountsIdp;
  let browser: Browser;
  let rp: Server;
  let callbackUrl: string;
  /** The idp as the browser sees it: localhost, a secure context and a valid RP ID. */
  let site: string;
  let gateway: Gateway;
  let gatewayUrl: string;
  const upstream = new Replica('payments');
  let bobId: string;

  before(async () => {
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      // The browser's origin is the issuer's (localhost): its cookies and redirects stay on one site.
      idp: (origin) => ({
        issuer: `${origin.replace('127.0.0.1', 'localhost')}/auth`,
        mfa: { passkeys: { rpId: 'localhost', origins: [origin.replace('127.0.0.1', 'localhost')] } },
      }),
    });
    site = t.origin.replace('127.0.0.1', 'localhost');
    rp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('callback'));
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/callback`;
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'passkey-app',
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
    await upstream.start();
    gateway = await createGateway({
      config: {
        auth: { issuer: `${site}/auth`, audiences: [t.origin], jwksUri: `${t.origin}/auth/jwks` },
        routes: [
          {
            id: 'payments',
            match: { path: '/payments' },
            upstreams: [upstream.url],
            stepUp: { acr: [MFA] },
          },
        ],
      },
      state: t.state,
      logger: silentLogger(),
      publicUrl: t.origin,
    });
    gatewayUrl = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}`;
    browser = await launchChromium();
    bobId = (await t.accounts.getByUsername('bob'))!.id;
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
    await upstream.kill().catch(() => {});
    rp?.closeAllConnections();
    await new Promise<void>((resolve) => (rp ? rp.close(() => resolve()) : resolve()));
    await t?.close();
  });

  /** A fresh browser page on the idp's origin with a virtual platform authenticator (user verified). */
  async function pageWithAuthenticator(): Promise<{
    context: BrowserContext;
    page: Page;
    cdp: CDPSession;
    authenticatorId: string;
  }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);
    await home(page);
    return { context, page, cdp, authenticatorId };
  }

  /** Back on the idp's origin, with the page's WebAuthn helpers. */
  async function home(page: Page): Promise<void> {
    await page.goto(`${site}/auth/.well-known/openid-configuration`, { timeout: 30_000 });
    await page.evaluate(WEBAUTHN_IN_PAGE);
  }

  /** fetch() from the page (same origin: its cookies, its Origin header). */
  async function call(page: Page, path: string, body?: Json): Promise<{ status: number; body: Json }> {
    return page.evaluate(
      async ([p, b]) => {
        const res = await fetch(p as string, {
          method: b === undefined ? 'GET' : 'POST',
          headers: { 'content-type': 'application/json' },
          body: b === undefined ? undefined : JSON.stringify(b),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : {} };
      },
      [path, body] as const,
    );
  }

  /** Sign in over the session API and register a passkey named `name` with the page's authenticator. */
  async function registerPasskey(page: Page, name: string): Promise<Json> {
    const options = await call(page, '/authentication/passkeys/registration-options', {});
    assert.equal(options.status, 200, JSON.stringify(options.body));
    assert.equal((options.body['authenticatorSelection'] as Json)['residentKey'], 'required');
    const credential = await page.evaluate(
      (o) => (window as never as { createPasskey(o: unknown): Promise<Json> }).createPasskey(o),
      options.body,
    );
    const added = await call(page, '/authentication/passkeys/register', {
      credential: JSON.stringify(credential),
      name,
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    return added.body;
  }

  /** An assertion for `options`, made by the page's authenticator but not sent. */
  const assertionFor = (page: Page, options: Json) =>
    page.evaluate(
      (o) => (window as never as { getPasskey(o: unknown): Promise<Json> }).getPasskey(o),
      options,
    );

  /** Start an authorization request in `page`: resolves to the PKCE verifier once the login page is up. */
  async function authorize(page: Page, params: Record<string, string> = {}): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${site}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'passkey-app',
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...params,
    }).toString();
    await page.goto(url.toString(), { timeout: 30_000 });
    return verifier;
  }

  async function tokensAt(
    page: Page,
    verifier: string,
  ): Promise<{ id: Json; access: Json; accessToken: string }> {
    await page.waitForURL(`${callbackUrl}?**`, { timeout: 30_000 });
    const code = new URL(page.url()).searchParams.get('code')!;
    const res = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: callbackUrl,
        client_id: 'passkey-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id_token: string; access_token: string };
    return {
      id: decodeJwt(body.id_token),
      access: decodeJwt(body.access_token),
      accessToken: body.access_token,
    };
  }

  const audits = async (type: string) =>
    t.sql.query<{ details: Json }>(
      'select details from idp_audit_events where type = $1 and subject = $2 order by id',
      [type, bobId],
    );

  let passwordOnlyToken: string;
  let passkeyToken: string;
  let authenticator: { context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string };

  test('a password-only token is refused by a step-up route: 401 insufficient_user_authentication', async () => {
    const { context, page } = await pageWithAuthenticator();
    const verifier = await authorize(page);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await passwordStep(page, 'bob', 'bob-password');
    const tokens = await tokensAt(page, verifier);
    await context.close();
    assert.deepEqual(tokens.access['amr'], ['pwd']);
    assert.equal(tokens.access['acr'], 'urn:gatehouse:acr:pwd');
    assert.equal(tokens.id['acr'], 'urn:gatehouse:acr:pwd');
    passwordOnlyToken = tokens.accessToken;
    const res = await fetch(`${gatewayUrl}/payments`, {
      headers: { authorization: `Bearer ${passwordOnlyToken}` },
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as Json)['error'], 'GW_STEP_UP_REQUIRED');
    const challenge = res.headers.get('www-authenticate')!;
    assert.match(challenge, /error="insufficient_user_authentication"/);
    assert.match(challenge, new RegExp(`acr_values="${MFA}"`));
  });

  test('several passkeys: registered over the session API, listed, renamed, one removed (audited)', async () => {
    authenticator = await pageWithAuthenticator();
    const { page, cdp, authenticatorId } = authenticator;
    assert.equal(
      (await call(page, '/authentication/login', { username: 'bob', password: 'bob-password' })).status,
      200,
    );
    const laptop = await registerPasskey(page, 'Laptop');
    // A second authenticator (the first set aside: Chromium asks one at a time) registers another.
    const saved = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    assert.equal(saved.length, 1);
    const second = await replaceVirtualAuthenticator(cdp, authenticatorId);
    const phone = await registerPasskey(page, 'Phone');
    const listed = await call(page, '/authentication/passkeys');
    assert.deepEqual(
      (listed.body['passkeys'] as Json[]).map((p) => p['name']),
      ['Laptop', 'Phone'],
    );
    assert.equal(
      (
        await call(page, '/authentication/passkeys/rename', {
          id: laptop['id'] as string,
          name: 'Work laptop',
        })
      ).status,
      204,
    );
    assert.equal(
      (await call(page, '/authentication/passkeys/rename', { id: laptop['id'] as string, name: '' })).status,
      400,
    );
    assert.equal(
      (await call(page, '/authentication/passkeys/remove', { id: phone['id'] as string })).status,
      204,
    );
    const again = await call(page, '/authentication/passkeys/remove', { id: phone['id'] as string });
    assert.equal(again.status, 404);
    assert.equal(again.body['error'], 'IDP_PASSKEY_NOT_FOUND');
    assert.deepEqual(
      ((await call(page, '/authentication/passkeys')).body['passkeys'] as Json[]).map((p) => p['name']),
      ['Work laptop'],
    );
    assert.equal((await audits('passkey.registered')).length, 2);
    assert.equal((await audits('passkey.removed')).length, 1);
    // Back to the first authenticator, its credential restored.
    const restored = await replaceVirtualAuthenticator(cdp, second);
    await cdp.send('WebAuthn.addCredential', { authenticatorId: restored, credential: saved[0]! });
    authenticator.authenticatorId = restored;
  });

  test('a passkey as the second factor in the session API: methods name it, the mfaToken ceremony signs in', async () => {
    const { page } = authenticator;
    const password = await call(page, '/authentication/login', { username: 'bob', password: 'bob-password' });
    assert.equal(password.status, 401);
    assert.equal(password.body['error'], 'IDP_MFA_REQUIRED');
    assert.deepEqual(password.body['methods'], ['passkey']);
    const mfaToken = password.body['mfaToken'] as string;
    const started = await call(page, '/authentication/login/passkey-options', { mfaToken });
    assert.equal(started.status, 200);
    const { options, passkeyToken: token } = started.body as { options: Json; passkeyToken: string };
    assert.equal((options['allowCredentials'] as Json[]).length, 1, "only bob's passkey is asked for");
    const assertion = await assertionFor(page, options);
    // Without the mfaToken the same assertion would be a passwordless sign-in; with a made-up one, refused.
    const forged = await call(page, '/authentication/login/passkey', {
      passkeyToken: token,
      mfaToken: 'x'.repeat(43),
      credential: JSON.stringify(assertion),
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.body['error'], 'IDP_MFA_TOKEN_INVALID');
    const signedIn = await call(page, '/authentication/login/passkey', {
      passkeyToken: token,
      mfaToken,
      credential: JSON.stringify(assertion),
    });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body['id'], bobId);
    const reused = await call(page, '/authentication/login/passkey-options', { mfaToken });
    assert.equal(reused.status, 401, 'the mfaToken is spent');
  });

  test('a passkey as the second factor on the hosted pages: amr pwd, hwk, mfa and acr mfa', async () => {
    const { page, cdp } = authenticator;
    const usedBefore = (await audits('passkey.used')).length;
    await page.context().clearCookies();
    // No touch yet: the login page's conditional request (passkey autofill) waits, unanswered.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: authenticator.authenticatorId,
      enabled: false,
    });
    const verifier = await authorize(page);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await passwordStep(page, 'bob', 'bob-password');
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor({ timeout: 30_000 });
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: authenticator.authenticatorId,
      enabled: true,
    });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const tokens = await tokensAt(page, verifier);
    assert.equal(tokens.id['sub'], bobId);
    assert.deepEqual(tokens.id['amr'], ['pwd', 'hwk', 'mfa']);
    assert.deepEqual(tokens.access['amr'], ['pwd', 'hwk', 'mfa']);
    assert.equal(tokens.access['acr'], MFA);
    assert.equal((await audits('passkey.used')).length, usedBefore + 1);
  });

  test('passwordless on the login page: the same sub, amr hwk and mfa; the step-up route answers 200', async () => {
    const { page } = authenticator;
    await page.context().clearCookies();
    const verifier = await authorize(page);
    // Conditional UI may already have signed in; otherwise the button does.
    if (!page.url().startsWith(callbackUrl)) {
      await page
        .getByRole('button', { name: 'Use a passkey' })
        .click({ timeout: 5_000 })
        .catch(() => {});
    }
    const tokens = await tokensAt(page, verifier);
    assert.equal(tokens.id['sub'], bobId);
    assert.deepEqual(tokens.id['amr'], ['hwk', 'mfa']);
    assert.equal(tokens.access['acr'], MFA);
    passkeyToken = tokens.accessToken;
    const res = await fetch(`${gatewayUrl}/payments`, {
      headers: { authorization: `Bearer ${passkeyToken}` },
    });
    assert.equal(res.status, 200);
    // The weaker token still does not pass.
    const weak = await fetch(`${gatewayUrl}/payments`, {
      headers: { authorization: `Bearer ${passwordOnlyToken}` },
    });
    assert.equal(weak.status, 401);
  });

  describe('forged and replayed assertions are refused and change nothing', () => {
    const counter = async () =>
      Number(
        (
          await t.sql.query<{ counter: string }>('select counter from idp_passkeys where user_id = $1', [
            bobId,
          ])
        )[0]!.counter,
      );

    async function loginOptions(): Promise<{ options: Json; passkeyToken: string }> {
      if (!authenticator.page.url().startsWith(site)) await home(authenticator.page);
      const r = await call(authenticator.page, '/authentication/login/passkey-options', {});
      assert.equal(r.status, 200);
      return r.body as { options: Json; passkeyToken: string };
    }

    async function present(token: string, credential: Json) {
      return call(authenticator.page, '/authentication/login/passkey', {
        passkeyToken: token,
        credential: JSON.stringify(credential),
      });
    }

    const b64 = (b: Buffer) => b.toString('base64url');
    const clientData = (c: Json) =>
      JSON.parse(
        Buffer.from((c['response'] as Json)['clientDataJSON'] as string, 'base64url').toString(),
      ) as Json;
    const withClientData = (c: Json, data: Json): Json => ({
      ...c,
      response: { ...(c['response'] as Json), clientDataJSON: b64(Buffer.from(JSON.stringify(data))) },
    });

    async function refused(token: string, credential: Json, reason: RegExp) {
      const before = await counter();
      const failures = (await audits('passkey.failed')).length;
      const r = await present(token, credential);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body['error'], 'IDP_PASSKEY_INVALID');
      const logged = await audits('passkey.failed');
      assert.equal(logged.length, failures + 1);
      assert.match(String(logged.at(-1)!.details['reason']), reason);
      assert.equal(await counter(), before, 'the stored counter is unchanged');
    }

    test('a wrong origin in the client data', async () => {
      const { options, passkeyToken: token } = await loginOptions();
      const real = await assertionFor(authenticator.page, options);
      await refused(
        token,
        withClientData(real, { ...clientData(real), origin: 'https://evil.example' }),
        /origin/i,
      );
    });

    test('a wrong RP ID (the authenticator data names another RP)', async () => {
      const { options, passkeyToken: token } = await loginOptions();
      const real = await assertionFor(authenticator.page, options);
      const data = Buffer.from((real['response'] as Json)['authenticatorData'] as string, 'base64url');
      createHash('sha256').update('evil.example').digest().copy(data, 0);
      await refused(
        token,
        { ...real, response: { ...(real['response'] as Json), authenticatorData: b64(data) } },
        /RP ID/i,
      );
    });

    test("an assertion of another ceremony's challenge", async () => {
      const first = await loginOptions();
      const second = await loginOptions();
      const forFirst = await assertionFor(authenticator.page, first.options);
      await refused(second.passkeyToken, forFirst, /challenge/i);
    });

    test('a replayed counter: an older assertion after a newer one was used', async () => {
      const older = await loginOptions();
      const newer = await loginOptions();
      const olderAssertion = await assertionFor(authenticator.page, older.options);
      const newerAssertion = await assertionFor(authenticator.page, newer.options);
      const ok = await present(newer.passkeyToken, newerAssertion);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      await refused(older.passkeyToken, olderAssertion, /counter/i);
    });

    test('the same assertion twice: its challenge is used once', async () => {
      const { options, passkeyToken: token } = await loginOptions();
      const real = await assertionFor(authenticator.page, options);
      assert.equal((await present(token, real)).status, 200);
      await refused(token, real, /challenge/i);
    });
  });

  test('a refused passkey on the login page shows the login page again with the error (401), the reason audited', async () => {
    const { page } = authenticator;
    await page.context().clearCookies();
    // The browser's assertion, its client data rewritten on the way (another origin).
    await page.route('**/interaction/*/passkey', async (route) => {
      const form = new URLSearchParams(route.request().postData() ?? '');
      const credential = JSON.parse(form.get('credential')!) as Json;
      const response = credential['response'] as Json;
      const data = JSON.parse(
        Buffer.from(response['clientDataJSON'] as string, 'base64url').toString(),
      ) as Json;
      response['clientDataJSON'] = Buffer.from(
        JSON.stringify({ ...data, origin: 'https://evil.example' }),
      ).toString('base64url');
      form.set('credential', JSON.stringify(credential));
      // No more touches: the page's next passkey request (conditional UI starts again) waits.
      await authenticator.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
        authenticatorId: authenticator.authenticatorId,
        enabled: false,
      });
      await route.continue({ postData: form.toString() });
    });
    const answered = page.waitForResponse((r) => /\/interaction\/[^/]+\/passkey$/.test(r.url()), {
      timeout: 30_000,
    });
    await authorize(page);
    if ((await page.getByRole('button', { name: 'Use a passkey' }).count()) > 0) {
      await page
        .getByRole('button', { name: 'Use a passkey' })
        .click({ timeout: 5_000 })
        .catch(() => {});
    }
    assert.equal((await answered).status(), 401);
    await page.getByRole('alert').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('alert').textContent(), 'The passkey could not be verified: try again');
    assert.equal(await page.getByRole('heading', { name: 'Sign in' }).count(), 1);
    await page.unroute('**/interaction/*/passkey');
    const failed = await audits('passkey.failed');
    assert.match(String(failed.at(-1)!.details['reason']), /origin/i);
  });

  test('an admin reset removes passkeys too: the next sign-in asks for the password alone', async () => {
    const adminToken = await serviceToken(t, 'passkey-admin-client', ['admin']);
    const reset = await fetch(`${t.origin}/auth/admin/users/${bobId}/second-factors`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(reset.status, 204);
    const left = await t.sql.query('select id from idp_passkeys where user_id = $1', [bobId]);
    assert.equal(left.length, 0);
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.origin },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    assert.equal(login.status, 200);
  });
});
