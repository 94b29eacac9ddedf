import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, passwordStep } from '../../../test/support/chromium.ts';
import { createLinkedIdentities } from '../src/brokering/linked-identities.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { type AccountsIdp, serviceToken, startAccountsIdp } from './accounts-harness.ts';
import { type Glewlwyd, glewlwydSkip, startGlewlwyd } from './glewlwyd-harness.ts';

/**
 * Brokering end to end in Chromium against glewlwyd, an OpenID provider nobody here wrote (Debian's
 * package, started and configured by glewlwyd-harness.ts): its own login web app, its own code and
 * token endpoints, ID tokens signed with its own ES256 key. The broker is a confidential client
 * there (client_secret_post, PKCE S256, `state`, `nonce`, RFC 9207 `iss`).
 */
const skip = chromiumSkip('the glewlwyd browser tests') || glewlwydSkip();

describe('sign-in through glewlwyd, in Chromium', { skip, timeout: 240_000 }, () => {
  let t: AccountsIdp;
  let glewlwyd: Glewlwyd;
  let browser: Browser;
  let rp: Server;
  let callbackUrl: string;
  let brokerCallback: string;
  const people = [
    { username: 'rhea', password: 'rhea-at-glewlwyd', name: 'Rhea Glewlwyd', email: 'rhea@glewlwyd.test' },
    { username: 'kai', password: 'kai-at-glewlwyd', name: 'Kai Glewlwyd', email: 'kai@glewlwyd.test' },
  ];

  before(async () => {
    glewlwyd = await startGlewlwyd({ people });
    const provider = {
      issuer: glewlwyd.issuer,
      clientId: glewlwyd.clientId,
      // glewlwyd does not form-decode Basic credentials: the secret goes in the body.
      tokenEndpointAuthMethod: 'client_secret_post',
      scopes: ['openid'],
      roles: { defaultRoles: ['user'] },
    };
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      idp: {
        brokering: {
          providers: [
            { id: 'glewlwyd', name: 'Glewlwyd', clientSecret: glewlwyd.clientSecret, ...provider },
            // The same client with a secret glewlwyd does not know: its token endpoint refuses it.
            {
              id: 'glewlwyd-wrong',
              name: 'Glewlwyd, wrong secret',
              clientSecret: 'not-the-secret',
              ...provider,
            },
          ],
        },
      },
    });
    brokerCallback = `${t.origin}/auth/interaction/broker-callback`;
    await glewlwyd.registerClient([brokerCallback]);
    rp = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback reached'),
    );
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/callback`;
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'glewlwyd-app',
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
    await glewlwyd?.close();
  });

  async function openLogin(
    context: BrowserContext,
    extra: Record<string, string> = {},
  ): Promise<{ page: Page; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'glewlwyd-app',
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      state: 'rp-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
    const page = await context.newPage();
    await page.goto(url.toString(), { timeout: 30_000 });
    return { page, verifier };
  }

  /** At glewlwyd's own login app: username, password, OK, then Continue back to the broker. */
  async function signInAtGlewlwyd(page: Page, username: string, password: string): Promise<void> {
    await page.waitForURL(`${glewlwyd.origin}/**`, { timeout: 30_000 });
    await page.getByPlaceholder('Your username').fill(username);
    await page.getByPlaceholder('Your password').fill(password);
    await page.getByRole('button', { name: 'OK' }).click();
    await Promise.all([
      page.waitForURL((u) => !u.href.startsWith(glewlwyd.origin), { timeout: 30_000 }),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    await page.waitForLoadState('load');
  }

  async function throughGlewlwyd(page: Page, username: string, password: string, button = 'Glewlwyd') {
    await page.getByRole('button', { name: `Sign in with ${button}`, exact: true }).click();
    await signInAtGlewlwyd(page, username, password);
  }

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
        client_id: 'glewlwyd-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200);
    const tokens = (await res.json()) as { id_token: string };
    return String(decodeJwt(tokens.id_token).sub);
  }

  const errorCodeOn = (page: Page) => page.locator('code').first().textContent();

  test('a first sign-in through glewlwyd creates an account, and the next one reaches the same sub', async () => {
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    await throughGlewlwyd(page, 'rhea', 'rhea-at-glewlwyd');
    await page.getByRole('heading', { name: 'First sign-in with Glewlwyd' }).waitFor();
    await page.getByRole('button', { name: 'Create a new account' }).click();
    const sub = await subAtClient(page, verifier);
    const rhea = await t.accounts.get(sub);
    // The username is glewlwyd's preferred_username; glewlwyd never says it verified the address,
    // so the email is not taken.
    assert.equal(rhea?.username, 'rhea');
    assert.equal(rhea?.email, null);
    assert.deepEqual(rhea?.roles, ['user']);
    const [link] = await createLinkedIdentities(t.sql).listOf(sub);
    assert.equal(link?.provider, 'glewlwyd');
    const events = await t.accounts.audit.query({ subject: sub });
    assert.ok(events.some((e) => e.type === 'broker.account_created'));
    await context.close();

    const again = await browser.newContext();
    const second = await openLogin(again);
    await throughGlewlwyd(second.page, 'rhea', 'rhea-at-glewlwyd');
    assert.equal(await subAtClient(second.page, second.verifier), sub);
    await again.close();
  });

  test('an existing account links glewlwyd after its own password; either way in reaches the same sub', async () => {
    const bob = await t.accounts.getByUsername('bob');
    assert.ok(bob);
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    await throughGlewlwyd(page, 'kai', 'kai-at-glewlwyd');
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

    const viaGlewlwyd = await browser.newContext();
    const second = await openLogin(viaGlewlwyd);
    await throughGlewlwyd(second.page, 'kai', 'kai-at-glewlwyd');
    assert.equal(await subAtClient(second.page, second.verifier), bob.id);
    await viaGlewlwyd.close();
    const viaPassword = await browser.newContext();
    const third = await openLogin(viaPassword);
    await passwordStep(third.page, 'bob', 'bob-password');
    assert.equal(await subAtClient(third.page, third.verifier), bob.id);
    await viaPassword.close();
    assert.equal((await t.accounts.audit.query({ subject: bob.id, type: 'broker.linked' })).length, 1);
  });

  test('a signed-in person unlinks glewlwyd and links it again; the last way in cannot be removed', async () => {
    const context = await browser.newContext();
    const api = context.request;
    const headers = { origin: t.origin };
    const login = await api.post(`${t.origin}/authentication/login`, {
      data: { username: 'bob', password: 'bob-password' },
      headers,
    });
    assert.equal(login.status(), 200);
    const unlinked = await api.post(`${t.origin}/authentication/identities/unlink`, {
      data: { provider: 'glewlwyd' },
      headers,
    });
    assert.equal(unlinked.status(), 200);
    const bob = await t.accounts.getByUsername('bob');
    assert.deepEqual(await createLinkedIdentities(t.sql).listOf(bob!.id), []);
    const again = await api.post(`${t.origin}/authentication/identities/unlink`, {
      data: { provider: 'glewlwyd' },
      headers,
    });
    assert.equal(again.status(), 404);
    assert.equal(((await again.json()) as { error: string }).error, 'IDP_BROKER_IDENTITY_NOT_FOUND');

    // Unlinked, kai's glewlwyd identity no longer reaches bob: it is a first sign-in again.
    const fresh = await browser.newContext();
    const other = await openLogin(fresh);
    await throughGlewlwyd(other.page, 'kai', 'kai-at-glewlwyd');
    await other.page.getByRole('heading', { name: 'First sign-in with Glewlwyd' }).waitFor();
    await fresh.close();

    const started = await api.post(`${t.origin}/authentication/identities/link`, {
      data: { provider: 'glewlwyd' },
      headers,
    });
    assert.equal(started.status(), 200);
    const page = await context.newPage();
    await page.goto(((await started.json()) as { location: string }).location);
    await signInAtGlewlwyd(page, 'kai', 'kai-at-glewlwyd');
    await page.getByRole('heading', { name: 'Provider linked' }).waitFor({ timeout: 30_000 });
    assert.equal((await createLinkedIdentities(t.sql).listOf(bob!.id)).length, 1);
    await context.close();

    // rhea has no password: glewlwyd is her only way in, and stays linked.
    const rhea = await t.accounts.getByUsername('rhea');
    const token = await serviceToken(t, 'ops-robot', ['admin']);
    const refused = await fetch(`${t.origin}/auth/admin/users/${rhea!.id}/identities/glewlwyd`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { error: string }).error, 'IDP_BROKER_LAST_SIGN_IN');
    assert.equal((await createLinkedIdentities(t.sql).listOf(rhea!.id)).length, 1);
  });

  test("the relying party's prompt=login makes glewlwyd ask for the password again; without it glewlwyd's session is enough", async () => {
    const context = await browser.newContext();
    const first = await openLogin(context);
    await throughGlewlwyd(first.page, 'rhea', 'rhea-at-glewlwyd');
    const sub = await subAtClient(first.page, first.verifier);
    await first.page.close();
    // Gatehouse's cookies go, glewlwyd's session stays (both live on 127.0.0.1).
    const glewlwydSession = (await context.cookies()).filter((c) => c.name === 'GLEWLWYD2_SESSION_ID');
    assert.equal(glewlwydSession.length, 1);
    const onlyGlewlwyd = async () => {
      await context.clearCookies();
      await context.addCookies(glewlwydSession);
    };

    // Without prompt=login glewlwyd's session is enough: its page offers Continue, no password.
    await onlyGlewlwyd();
    const quiet = await openLogin(context);
    await quiet.page.getByRole('button', { name: 'Sign in with Glewlwyd', exact: true }).click();
    await quiet.page.waitForURL(`${glewlwyd.origin}/login.html?**`, { timeout: 30_000 });
    assert.equal(new URL(quiet.page.url()).searchParams.has('prompt'), false);
    const proceed = quiet.page.getByRole('button', { name: 'Continue' });
    await proceed.waitFor();
    assert.equal(await quiet.page.getByPlaceholder('Your password').count(), 0);
    await proceed.click();
    assert.equal(await subAtClient(quiet.page, quiet.verifier), sub);
    await quiet.page.close();

    await onlyGlewlwyd();
    const again = await openLogin(context, { prompt: 'login' });
    await again.page.getByRole('button', { name: 'Sign in with Glewlwyd', exact: true }).click();
    await again.page.waitForURL(`${glewlwyd.origin}/login.html?**`, { timeout: 30_000 });
    assert.equal(new URL(again.page.url()).searchParams.get('prompt'), 'login');
    await again.page.getByPlaceholder('Your password').waitFor();
    await again.page.getByPlaceholder('Your username').fill('rhea');
    await again.page.getByPlaceholder('Your password').fill('rhea-at-glewlwyd');
    await again.page.getByRole('button', { name: 'OK' }).click();
    await Promise.all([
      again.page.waitForURL((u) => !u.href.startsWith(glewlwyd.origin), { timeout: 30_000 }),
      again.page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    assert.equal(await subAtClient(again.page, again.verifier), sub);
    await context.close();
  });

  test('glewlwyd refusing the code exchange (a wrong client secret) signs no one in', async () => {
    const before = (await t.accounts.audit.query({ type: 'broker.login' })).length;
    const context = await browser.newContext();
    const { page } = await openLogin(context);
    const answer = page.waitForResponse((r) => r.url().startsWith(brokerCallback));
    await throughGlewlwyd(page, 'rhea', 'rhea-at-glewlwyd', 'Glewlwyd, wrong secret');
    assert.equal((await answer).status(), 400);
    assert.equal(await errorCodeOn(page), 'IDP_BROKER_RESPONSE_INVALID');
    await context.close();
    assert.equal((await t.accounts.audit.query({ type: 'broker.login' })).length, before);
  });

  test('a replayed glewlwyd callback and a callback with another state are refused', async () => {
    const context = await browser.newContext();
    const { page, verifier } = await openLogin(context);
    const callbacks: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(brokerCallback)) callbacks.push(r.url());
    });
    await throughGlewlwyd(page, 'rhea', 'rhea-at-glewlwyd');
    await subAtClient(page, verifier);
    assert.equal(callbacks.length, 1);
    // glewlwyd's answer names its issuer (RFC 9207), which the broker checked.
    assert.equal(new URL(callbacks[0]!).searchParams.get('iss'), glewlwyd.issuer);
    const replay = await page.goto(callbacks[0]!);
    assert.equal(replay?.status(), 400);
    assert.equal(await errorCodeOn(page), 'IDP_BROKER_STATE_INVALID');
    const forged = new URL(callbacks[0]!);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const mismatch = await page.goto(forged.href);
    assert.equal(mismatch?.status(), 400);
    assert.equal(await errorCodeOn(page), 'IDP_BROKER_STATE_INVALID');
    await context.close();
  });
});
