import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveMfaConfig } from '../src/mfa/mfa-config.ts';
import { resolveRelyingParty } from '../src/mfa/passkey-config.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import {
  type AccountsIdp,
  authorizationRequest,
  browserCookies,
  startAccountsIdp,
} from './accounts-harness.ts';

// The authentication level a client asks for (acr_values, default_acr_values through requireMfa)
// and the age it accepts (max_age), honoured at the authorization endpoint; the passkeys' relying
// party refused at start-up when a browser would refuse it.
const MFA = 'urn:gatehouse:acr:mfa';
const PWD = 'urn:gatehouse:acr:pwd';
const CALLBACK = 'http://localhost:8080/callback';

describe('acr_values, requireMfa and max_age at the authorization endpoint', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'payroll',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [CALLBACK],
        postLogoutRedirectUris: [],
        scope: 'openid profile',
        roles: [],
        firstParty: true,
        requireMfa: true,
      }),
      'admin',
    );
  });
  after(async () => {
    await t?.close();
  });

  /** One browser: its cookies kept across requests. */
  function browser() {
    const jar = browserCookies();
    async function get(url: URL | string): Promise<Response> {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.take(res);
      return res;
    }
    /** Follow redirects on the idp: the client's callback URL, or the idp page it stopped at. */
    async function until(res: Response): Promise<{ url: URL; res: Response }> {
      let current = res;
      let url = new URL(t.origin);
      for (let i = 0; i < 6 && current.status >= 300 && current.status < 400; i++) {
        url = new URL(current.headers.get('location')!, t.origin);
        if (url.origin !== t.origin) return { url, res: current };
        current = await get(url);
      }
      return { url, res: current };
    }
    async function authorize(params: Record<string, string>) {
      return until(await get(authorizationRequest(t, params).url));
    }
    async function login(page: URL, html: string, username: string, password: string) {
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
      const res = await fetch(`${page}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: jar.header(),
          origin: t.origin,
        },
        body: new URLSearchParams({ csrf, username, password }).toString(),
      });
      jar.take(res);
      return until(res);
    }
    return { authorize, login };
  }

  test('discovery lists both levels', async () => {
    const doc = (await (await fetch(`${t.origin}/auth/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(doc['acr_values_supported'], [PWD, MFA]);
  });

  test('acr_values asking for mfa: a person without a second factor is asked to set one up after the password', async () => {
    const b = browser();
    const shown = await b.authorize({ acr_values: MFA });
    assert.equal(shown.res.status, 200);
    const after = await b.login(shown.url, await shown.res.text(), 'bob', 'bob-password');
    assert.equal(after.res.status, 200);
    assert.match(await after.res.text(), /Set up two-step verification/);
  });

  test('a client with requireMfa does the same without asking; another client signs bob in with the password', async () => {
    const b = browser();
    const shown = await b.authorize({ client_id: 'payroll' });
    const after = await b.login(shown.url, await shown.res.text(), 'bob', 'bob-password');
    assert.equal(after.res.status, 200);
    assert.match(await after.res.text(), /Set up two-step verification/);

    const other = browser();
    const page = await other.authorize({});
    const done = await other.login(page.url, await page.res.text(), 'bob', 'bob-password');
    assert.equal(done.url.origin + done.url.pathname, CALLBACK);
  });

  test('a password session: SSO without acr_values; a new sign-in for acr_values mfa and for an exceeded max_age', async () => {
    const b = browser();
    const page = await b.authorize({});
    const first = await b.login(page.url, await page.res.text(), 'bob', 'bob-password');
    assert.equal(first.url.origin + first.url.pathname, CALLBACK);

    const sso = await b.authorize({});
    assert.equal(sso.url.origin + sso.url.pathname, CALLBACK, 'the session is reused');

    const stronger = await b.authorize({ acr_values: MFA });
    assert.equal(stronger.res.status, 200);
    assert.match(stronger.url.pathname, /\/auth\/interaction\//);
    assert.match(await stronger.res.text(), /<h1>Sign in<\/h1>/);

    // A level the session already has (or a list that accepts it) needs no new sign-in.
    const either = await b.authorize({ acr_values: `${PWD} ${MFA}` });
    assert.equal(either.url.origin + either.url.pathname, CALLBACK);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const recent = await b.authorize({ max_age: '0' });
    assert.equal(recent.res.status, 200);
    assert.match(recent.url.pathname, /\/auth\/interaction\//);
    const within = await b.authorize({ max_age: '3600' });
    assert.equal(within.url.origin + within.url.pathname, CALLBACK);
  });
});

describe('the passkeys relying party is checked at start-up', () => {
  const rp = (passkeys: Record<string, unknown>, issuer = 'https://id.example.com/auth') =>
    resolveRelyingParty(resolveMfaConfig({ passkeys }), issuer);
  const refused = (fn: () => unknown, why: RegExp) =>
    assert.throws(fn, (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'IDP_CONFIG_INVALID');
      assert.match(err.message ?? '', why);
      return true;
    });

  test('defaults: the issuer host and origin', () => {
    const r = rp({});
    assert.equal(r.rpId, 'id.example.com');
    assert.deepEqual(r.origins, ['https://id.example.com']);
    assert.equal(r.usable, true);
  });

  test('an origin outside the RP ID, an address as RP ID, plain http off localhost: refused', () => {
    refused(() => rp({ rpId: 'example.com', origins: ['https://login.example.net'] }), /not on the RP ID/);
    refused(() => rp({ rpId: 'example.com', origins: ['https://badexample.com'] }), /not on the RP ID/);
    refused(() => rp({ rpId: '10.0.0.1' }, 'https://10.0.0.1/auth'), /domain name/);
    refused(() => rp({ rpId: 'example.com', origins: ['http://id.example.com'] }), /https/);
    refused(() => rp({ rpId: 'Example.com' }), /rpId/);
  });

  test('a parent domain as RP ID with origins below it, and http on localhost, are accepted', () => {
    assert.equal(
      rp({ rpId: 'example.com', origins: ['https://id.example.com', 'https://example.com'] }).rpId,
      'example.com',
    );
    assert.equal(
      rp({ rpId: 'localhost', origins: ['http://localhost:3000'] }, 'http://localhost:3000/auth').usable,
      true,
    );
  });

  test('an issuer on an address with nothing configured: no passkeys offered, no error', () => {
    assert.equal(rp({}, 'http://127.0.0.1:8080/auth').usable, false);
  });
});
