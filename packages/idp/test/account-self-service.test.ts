import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AccountsIdp,
  accessTokenFor,
  serviceToken,
  sessionCookieOf,
  startAccountsIdp,
  tokensFor,
} from './accounts-harness.ts';

/**
 * The person's own account through the session API (`/authentication/profile`, `password/change`,
 * `sessions`, `consents`, `totp/remove`, `recovery-codes/regenerate`) and the account page's forms:
 * each bad input gets its stable code and status and changes nothing; each change is audited.
 */
describe('self-service: session API and account page', () => {
  let t: AccountsIdp;
  // alice's password once a test below changed it.
  let alicePassword = 'alice-password';
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
  });
  after(() => t?.close());

  const json = { 'content-type': 'application/json' };

  async function login(username: string, password: string): Promise<string> {
    const res = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password }),
    });
    assert.equal(res.status, 200, `${username} signs in`);
    return `gatehouse_session=${sessionCookieOf(res)}`;
  }

  const post = (
    path: string,
    cookie: string | undefined,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${t.origin}${path}`, {
      method: 'POST',
      headers: { ...json, ...(cookie ? { cookie } : {}), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  async function expectError(res: Response, status: number, code: string): Promise<void> {
    assert.equal(res.status, status, `${code} expected`);
    assert.equal(((await res.json()) as { error: string }).error, code);
  }

  async function auditCount(type: string, subject?: string): Promise<number> {
    const [row] = await t.sql.query<{ n: number }>(
      `select count(*)::int as n from idp_audit_events where type = $1 and ($2::text is null or subject = $2)`,
      [type, subject ?? null],
    );
    return row!.n;
  }

  async function passwordWorks(username: string, password: string): Promise<boolean> {
    const res = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password }),
    });
    return res.status === 200;
  }

  const idOf = async (username: string) => (await t.accounts.getByUsername(username))!.id;

  /** A public client that is not first-party: a third-party application. */
  async function thirdPartyClient(clientId: string, redirectUri: string): Promise<void> {
    const { clientMetadataFromConfig, upsertClient } = await import('../src/protocol/clients.ts');
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId,
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [redirectUri],
        postLogoutRedirectUris: [],
        scope: 'openid profile',
        roles: [],
        firstParty: false,
      } as never),
      'admin',
    );
  }

  for (const [method, path] of [
    ['GET', '/authentication/profile'],
    ['POST', '/authentication/profile/email'],
    ['POST', '/authentication/password/change'],
    ['GET', '/authentication/sessions'],
    ['POST', '/authentication/sessions/end'],
    ['POST', '/authentication/sessions/end-others'],
    ['GET', '/authentication/consents'],
    ['POST', '/authentication/consents/revoke'],
    ['POST', '/authentication/totp/remove'],
    ['POST', '/authentication/recovery-codes/regenerate'],
  ] as const) {
    test(`${method} ${path} without a session is 401 IDP_UNAUTHENTICATED`, async () => {
      const body = path.endsWith('/email')
        ? { email: 'x@example.com' }
        : path.endsWith('/change')
          ? { currentPassword: 'a', newPassword: 'b' }
          : path.endsWith('/end') || path.endsWith('/revoke')
            ? { id: 'x' }
            : {};
      const res = method === 'GET' ? await fetch(`${t.origin}${path}`) : await post(path, undefined, body);
      await expectError(res, 401, 'IDP_UNAUTHENTICATED');
    });
  }

  test('the profile names the account, its email and whether it is verified', async () => {
    const cookie = await login('bob', 'bob-password');
    const res = await fetch(`${t.origin}/authentication/profile`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['username'], 'bob');
    assert.equal(body['email'], 'bob@example.com');
    assert.equal(body['emailVerified'], false);
    assert.equal(body['password'], true);
  });

  test('an invalid new email address is 400 IDP_EMAIL_INVALID and the address stays', async () => {
    const cookie = await login('bob', 'bob-password');
    await expectError(
      await post('/authentication/profile/email', cookie, { email: 'not-an-address' }),
      400,
      'IDP_EMAIL_INVALID',
    );
    await expectError(await post('/authentication/profile/email', cookie, {}), 400, 'IDP_FIELD_MISSING');
    await expectError(
      await post('/authentication/profile/email', cookie, { email: 'a@example.com', name: 'x' }),
      400,
      'IDP_FIELD_UNKNOWN',
    );
    assert.equal((await t.accounts.getByUsername('bob'))!.email, 'bob@example.com');
  });

  test('password change: every refused input changes nothing', async () => {
    const cookie = await login('bob', 'bob-password');
    const change = (body: unknown) => post('/authentication/password/change', cookie, body);
    await expectError(await change({ currentPassword: 'bob-password' }), 400, 'IDP_FIELD_MISSING');
    await expectError(await change({ newPassword: 'a-long-new-passphrase-1' }), 400, 'IDP_FIELD_MISSING');
    await expectError(
      await change({
        currentPassword: 'bob-password',
        newPassword: 'a-long-new-passphrase-1',
        username: 'bob',
      }),
      400,
      'IDP_FIELD_UNKNOWN',
    );
    await expectError(
      await change({ currentPassword: 'bob-password', newPassword: 'x'.repeat(1025) }),
      400,
      'IDP_FIELD_TOO_LONG',
    );
    await expectError(
      await change({ currentPassword: 'wrong-password', newPassword: 'a-long-new-passphrase-1' }),
      403,
      'IDP_CURRENT_PASSWORD_WRONG',
    );
    await expectError(
      await change({ currentPassword: 'bob-password', newPassword: 'short' }),
      400,
      'IDP_PASSWORD_TOO_SHORT',
    );
    assert.equal(await passwordWorks('bob', 'bob-password'), true, 'the old password still works');
    assert.equal(await passwordWorks('bob', 'a-long-new-passphrase-1'), false);
    assert.equal(await auditCount('password.changed'), 0);
  });

  test('a cross-site password change is 403 IDP_CSRF_REJECTED and changes nothing', async () => {
    const cookie = await login('alice', 'alice-password');
    const res = await post(
      '/authentication/password/change',
      cookie,
      'currentPassword=alice-password&newPassword=an-evil-passphrase-77',
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    );
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
    assert.equal(await passwordWorks('alice', 'alice-password'), true);
  });

  test('a password change with the right current password works and is audited', async () => {
    const cookie = await login('alice', 'alice-password');
    await expectError(
      await post('/authentication/password/change', cookie, {
        currentPassword: 'alice-password',
        newPassword: 'my-alice-passphrase-1',
      }),
      400,
      'IDP_PASSWORD_CONTAINS_USERNAME',
    );
    assert.equal(await auditCount('password.changed', await idOf('alice')), 0);
    const res = await post('/authentication/password/change', cookie, {
      currentPassword: 'alice-password',
      newPassword: 'a-fresh-passphrase-for-her-3',
    });
    assert.equal(res.status, 200);
    assert.equal(await passwordWorks('alice', 'alice-password'), false);
    assert.equal(await passwordWorks('alice', 'a-fresh-passphrase-for-her-3'), true);
    assert.equal(await auditCount('password.changed', await idOf('alice')), 1);
    alicePassword = 'a-fresh-passphrase-for-her-3';
  });

  test('sessions: listed with the current one marked; refused ends change nothing; end-others ends the rest', async () => {
    const mine = await login('bob', 'bob-password');
    const other = await login('bob', 'bob-password');
    const alices = await login('alice', alicePassword);
    const list = async (cookie: string) =>
      (
        (await (await fetch(`${t.origin}/authentication/sessions`, { headers: { cookie } })).json()) as {
          sessions: { id: string; current: boolean }[];
        }
      ).sessions;
    const sessions = await list(mine);
    assert.ok(sessions.length >= 2);
    assert.equal(sessions.filter((s) => s.current).length, 1);
    const current = sessions.find((s) => s.current)!;
    const alicesSession = (await list(alices)).find((s) => s.current)!;

    await expectError(await post('/authentication/sessions/end', mine, {}), 400, 'IDP_FIELD_MISSING');
    await expectError(
      await post('/authentication/sessions/end', mine, { id: 's.unknown-session-id-x' }),
      404,
      'IDP_SESSION_NOT_FOUND',
    );
    await expectError(
      await post('/authentication/sessions/end', mine, { id: alicesSession.id }),
      404,
      'IDP_SESSION_NOT_FOUND',
    );
    await expectError(
      await post('/authentication/sessions/end', mine, { id: current.id }),
      409,
      'IDP_SESSION_CURRENT',
    );
    await expectError(
      await post('/authentication/sessions/end-others', mine, { all: 'yes' }),
      400,
      'IDP_FIELD_UNKNOWN',
    );
    for (const cookie of [mine, other, alices]) {
      assert.equal((await fetch(`${t.origin}/authentication/whoami`, { headers: { cookie } })).status, 200);
    }

    const ended = await post('/authentication/sessions/end-others', mine, {});
    assert.equal(ended.status, 200);
    assert.ok(((await ended.json()) as { ended: number }).ended >= 1);
    assert.equal(
      (await fetch(`${t.origin}/authentication/whoami`, { headers: { cookie: other } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${t.origin}/authentication/whoami`, { headers: { cookie: mine } })).status,
      200,
    );
    assert.equal(
      (await fetch(`${t.origin}/authentication/whoami`, { headers: { cookie: alices } })).status,
      200,
    );
    assert.deepEqual(
      (await list(mine)).map((s) => s.id),
      [current.id],
    );
  });

  test('a hosted sign-in is listed by its sid, and once ended its tokens stop working', async () => {
    const token = await accessTokenFor(t, 'alice', alicePassword);
    const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())['sid'] as string;
    const cookie = await login('alice', alicePassword);
    const res = await fetch(`${t.origin}/authentication/sessions`, { headers: { cookie } });
    const { sessions } = (await res.json()) as {
      sessions: { id: string; kind: string; clients: string[] }[];
    };
    const browser = sessions.find((s) => s.id === `b.${sid}`);
    assert.ok(browser, 'the sign-in is listed under the sid its tokens carry');
    assert.equal(browser.kind, 'browser');
    assert.deepEqual(browser.clients, ['demo-app']);
    const before = await auditCount('session.revoked', await idOf('alice'));
    assert.equal((await post('/authentication/sessions/end', cookie, { id: browser.id })).status, 204);
    assert.equal(await auditCount('session.revoked', await idOf('alice')), before + 1);
    const page = await fetch(`${t.origin}/account`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(page.status, 401, 'the token of the ended sign-in no longer opens the account page');
    await expectError(
      await post('/authentication/sessions/end', cookie, { id: browser.id }),
      404,
      'IDP_SESSION_NOT_FOUND',
    );
  });

  test("consents: a third-party application's grant is listed and revoked by its owner only", async () => {
    const provider = t.idp.provider;
    await thirdPartyClient('photo-printer', 'https://printer.example/callback');
    const grant = new provider.Grant({ accountId: await idOf('bob'), clientId: 'photo-printer' });
    grant.addOIDCScope('openid profile');
    const grantId = await grant.save();
    const bob = await login('bob', 'bob-password');
    const alice = await login('alice', alicePassword);
    const consents = (await (
      await fetch(`${t.origin}/authentication/consents`, { headers: { cookie: bob } })
    ).json()) as {
      consents: { id: string; clientId: string; scopes: string[] }[];
    };
    assert.deepEqual(
      consents.consents.map((c) => [c.id, c.clientId, c.scopes]),
      [[grantId, 'photo-printer', ['openid', 'profile']]],
    );

    await expectError(
      await post('/authentication/consents/revoke', alice, { id: grantId }),
      404,
      'IDP_CONSENT_NOT_FOUND',
    );
    await expectError(
      await post('/authentication/consents/revoke', bob, { id: 'no such/grant' }),
      404,
      'IDP_CONSENT_NOT_FOUND',
    );
    await expectError(await post('/authentication/consents/revoke', bob, {}), 400, 'IDP_FIELD_MISSING');
    assert.ok(await provider.Grant.find(grantId), 'the grant is still there');

    const before = await auditCount('grant.revoked', await idOf('bob'));
    assert.equal((await post('/authentication/consents/revoke', bob, { id: grantId })).status, 204);
    assert.equal(await provider.Grant.find(grantId), undefined);
    assert.equal(await auditCount('grant.revoked', await idOf('bob')), before + 1);
  });

  test('without an authenticator app, removing it or new recovery codes is 409 IDP_MFA_NOT_ENROLLED', async () => {
    const cookie = await login('bob', 'bob-password');
    await expectError(await post('/authentication/totp/remove', cookie, {}), 409, 'IDP_MFA_NOT_ENROLLED');
    await expectError(
      await post('/authentication/recovery-codes/regenerate', cookie, {}),
      409,
      'IDP_MFA_NOT_ENROLLED',
    );
    await expectError(
      await post('/authentication/totp/remove', cookie, { code: '1' }),
      400,
      'IDP_FIELD_UNKNOWN',
    );
    assert.equal(await auditCount('mfa.removed'), 0);
  });

  describe('the account page', () => {
    const page = (path: string, headers: Record<string, string>, body?: string) =>
      fetch(`${t.origin}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/x-www-form-urlencoded', origin: t.origin }),
          ...headers,
        },
        body,
        redirect: 'manual',
      });
    const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

    test('signed out, /account answers 401 with a page that says so', async () => {
      const res = await page('/account', {});
      assert.equal(res.status, 401);
      assert.match(await res.text(), /Sign in to see your account/);
    });

    test("a service's token (no person) is not signed in at the account page", async () => {
      const token = await serviceToken(t, 'account-probe', []);
      const res = await page('/account', { authorization: `Bearer ${token}` });
      assert.equal(res.status, 401);
    });

    test("a third-party application's token for the person is refused: 403 IDP_ACCOUNT_CLIENT_REFUSED, nothing changes", async () => {
      await thirdPartyClient('gallery-app', 'http://localhost:8080/callback');
      const { access_token: token } = await tokensFor(t, 'bob', 'bob-password', { client_id: 'gallery-app' });
      assert.equal(
        JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())['client_id'],
        'gallery-app',
      );
      const auth = { authorization: `Bearer ${token}` };
      const shown = await page('/account', auth);
      assert.equal(shown.status, 403);
      assert.match(await shown.text(), /IDP_ACCOUNT_CLIENT_REFUSED/);
      const before = await auditCount('password.changed', await idOf('bob'));
      const changed = await page(
        '/account/password',
        auth,
        new URLSearchParams({
          currentPassword: 'bob-password',
          newPassword: 'a-long-new-passphrase-7',
        }).toString(),
      );
      assert.equal(changed.status, 403);
      assert.match(await changed.text(), /IDP_ACCOUNT_CLIENT_REFUSED/);
      assert.equal(
        await auditCount('password.changed', await idOf('bob')),
        before,
        'the password is unchanged',
      );
    });

    test('a first-party session cookie opens the page, framed by nobody, under a strict CSP', async () => {
      const res = await page('/account', { cookie: await login('bob', 'bob-password') });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-security-policy')!, /default-src 'none'.*frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.match(await res.text(), /Signed in as <strong>bob<\/strong>/);
    });

    test('a first-party application token opens it; its forms refuse bad input at the field', async () => {
      const token = await accessTokenFor(t, 'bob', 'bob-password');
      const auth = { authorization: `Bearer ${token}` };
      const html = await (await page('/account', auth)).text();
      const csrf = csrfOf(html);
      const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

      const noToken = await page(
        '/account/password',
        auth,
        form({ currentPassword: 'bob-password', newPassword: 'a-long-new-passphrase-1' }),
      );
      assert.equal(noToken.status, 403);
      assert.match(await noToken.text(), /IDP_CSRF_REJECTED/);
      const wrongToken = await page(
        '/account/password',
        auth,
        form({
          csrf: 'x'.repeat(43),
          currentPassword: 'bob-password',
          newPassword: 'a-long-new-passphrase-1',
        }),
      );
      assert.equal(wrongToken.status, 403);
      const crossSite = await page(
        '/account/password',
        { ...auth, origin: 'https://evil.example' },
        form({ csrf, currentPassword: 'bob-password', newPassword: 'a-long-new-passphrase-1' }),
      );
      assert.equal(crossSite.status, 403);
      const unknown = await page(
        '/account/password',
        auth,
        form({ csrf, currentPassword: 'bob-password', newPassword: 'a-long-new-passphrase-1', admin: 'yes' }),
      );
      assert.equal(unknown.status, 400);
      assert.match(await unknown.text(), /IDP_FIELD_UNKNOWN/);

      const wrong = await page(
        '/account/password',
        auth,
        form({ csrf, currentPassword: 'nope', newPassword: 'a-long-new-passphrase-1' }),
      );
      assert.equal(wrong.status, 403);
      const wrongHtml = await wrong.text();
      assert.match(
        wrongHtml,
        /id="password-currentPassword-error">[^<]*\(<code>IDP_CURRENT_PASSWORD_WRONG<\/code>\)/,
      );
      assert.match(wrongHtml, /id="password-currentPassword"[^>]*aria-invalid="true"/);
      const weak = await page(
        '/account/password',
        auth,
        form({ csrf, currentPassword: 'bob-password', newPassword: 'short' }),
      );
      assert.equal(weak.status, 400);
      assert.match(
        await weak.text(),
        /id="password-newPassword-error">[^<]*\(<code>IDP_PASSWORD_TOO_SHORT<\/code>\)/,
      );
      const badEmail = await page('/account/email', auth, form({ csrf, email: 'nope' }));
      assert.equal(badEmail.status, 400);
      assert.match(
        await badEmail.text(),
        /id="email-email-error"[^>]*>[^<]*\(<code>IDP_EMAIL_INVALID<\/code>\)[\s\S]*value="nope"|value="nope"[\s\S]*id="email-email-error"/,
      );
      const session = await page('/account/sessions/end', auth, form({ csrf, id: 'b.not-a-session' }));
      assert.equal(session.status, 404);
      assert.match(await session.text(), /IDP_SESSION_NOT_FOUND/);
      const unknownAction = await page('/account/delete-everything', auth, form({ csrf }));
      assert.equal(unknownAction.status, 404);
      assert.equal(await passwordWorks('bob', 'bob-password'), true, 'nothing changed');
      assert.equal((await t.accounts.getByUsername('bob'))!.email, 'bob@example.com');

      const ok = await page(
        '/account/password',
        auth,
        form({ csrf, currentPassword: 'bob-password', newPassword: 'bobs-new-passphrase-8' }),
      );
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get('location'), '/account?done=password#password');
      assert.equal(await passwordWorks('bob', 'bobs-new-passphrase-8'), true);
    });
  });
});
