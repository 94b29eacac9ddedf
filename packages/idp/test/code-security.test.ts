import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { ALICE, authorize, BOB, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';
const form = { 'content-type': 'application/x-www-form-urlencoded' };

interface TokenBody {
  access_token?: string;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

describe('authorization code and refresh token security', () => {
  let t: TestIdp;

  before(async () => {
    t = await startIdp();
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'other-app',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: [],
        scope: 'openid profile email offline_access',
        roles: [],
        firstParty: false,
      }),
      'admin',
    );
  });
  after(() => t?.close());

  function authUrl(params: Record<string, string | undefined>): URL {
    const url = new URL(`${t.issuer}/auth`);
    const all: Record<string, string | undefined> = {
      client_id: 'demo-app',
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      prompt: 'consent',
      state: 'st',
      ...params,
    };
    for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  async function code(clientId = 'demo-app', accountId = ALICE): Promise<{ code: string; verifier: string }> {
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const cb = await authorize(
      t,
      authUrl({ client_id: clientId, code_challenge: challenge, code_challenge_method: 'S256' }),
      accountId,
    );
    const c = cb.searchParams.get('code');
    if (!c) throw new Error(`no code in ${cb.href}`);
    return { code: c, verifier };
  }

  async function token(params: Record<string, string>): Promise<{ status: number; body: TokenBody }> {
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ client_id: 'demo-app', ...params }).toString(),
    });
    return { status: res.status, body: (await res.json()) as TokenBody };
  }

  const redeem = (c: { code: string; verifier: string }, clientId = 'demo-app') =>
    token({
      grant_type: 'authorization_code',
      code: c.code,
      code_verifier: c.verifier,
      redirect_uri: REDIRECT,
      client_id: clientId,
    });

  const refresh = (refreshToken: string, clientId = 'demo-app') =>
    token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });

  async function introspect(accessToken: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${t.issuer}/token/introspection`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ client_id: 'demo-app', token: accessToken }).toString(),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  test('a code redeemed twice gives invalid_grant and revokes what the first redemption issued', async () => {
    const c = await code();
    const first = await redeem(c);
    assert.equal(first.status, 200);
    assert.equal((await introspect(first.body.access_token!))['active'], true);

    const second = await redeem(c);
    assert.equal(second.status, 400);
    assert.equal(second.body.error, 'invalid_grant');

    assert.deepEqual(await introspect(first.body.access_token!), { active: false });
    const again = await refresh(first.body.refresh_token!);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
  });

  test('a code redeemed twice at the same moment is honoured at most once, and then revoked', async () => {
    const c = await code();
    const results = await Promise.all([redeem(c), redeem(c)]);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 400);
    assert.ok(ok.length <= 1, 'never two successful redemptions');
    assert.ok(refused.length >= 1);
    for (const r of refused) assert.equal(r.body.error, 'invalid_grant');
    for (const r of ok) {
      assert.deepEqual(await introspect(r.body.access_token!), { active: false });
      assert.equal((await refresh(r.body.refresh_token!)).body.error, 'invalid_grant');
    }
  });

  test('a reused refresh token revokes the whole grant', async () => {
    const first = await redeem(await code());
    const rotated = await refresh(first.body.refresh_token!);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.refresh_token, first.body.refresh_token);

    const reuse = await refresh(first.body.refresh_token!);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');

    const next = await refresh(rotated.body.refresh_token!);
    assert.equal(next.status, 400, 'the rotated token died with its grant');
    assert.equal(next.body.error, 'invalid_grant');
    assert.deepEqual(await introspect(rotated.body.access_token!), { active: false });
  });

  test('a rotated refresh token keeps the absolute expiry of its chain', async () => {
    const first = await redeem(await code());
    const rotated = await refresh(first.body.refresh_token!);
    const exp = async (id: string) =>
      (
        await t.sql.query<{ exp: number }>(
          `select (payload->>'exp')::int as exp from idp_oidc_models where model = 'RefreshToken' and id = $1`,
          [id],
        )
      )[0]!.exp;
    const before = await exp(first.body.refresh_token!);
    const after = await exp(rotated.body.refresh_token!);
    assert.ok(Math.abs(after - before) <= 1, `expiry moved from ${before} to ${after}`);
  });

  test('a refresh token of one client is refused for another', async () => {
    const issued = await redeem(await code());
    const stolen = await refresh(issued.body.refresh_token!, 'other-app');
    assert.equal(stolen.status, 400);
    assert.deepEqual(stolen.body, { error: 'invalid_grant', error_description: 'grant request is invalid' });
    assert.equal((await refresh(issued.body.refresh_token!)).status, 200, 'the owner can still use it');
  });

  test('a code issued to one client cannot be redeemed by another', async () => {
    const c = await code();
    const res = await redeem(c, 'other-app');
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });

  test('an unregistered redirect_uri gets an error page, never a redirect', async () => {
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const res = await fetch(
      authUrl({
        redirect_uri: 'http://localhost:8080/callback/evil',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      {
        redirect: 'manual',
        headers: { accept: 'text/html' },
      },
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /redirect_uri_mismatch|invalid_redirect_uri/);
    assert.ok(!html.includes('callback/evil'), 'the rejected URI is not reflected');
  });

  test('a redirect_uri that only differs by a trailing slash or a query is unregistered too', async () => {
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    for (const uri of [`${REDIRECT}/`, `${REDIRECT}?x=1`, 'http://LOCALHOST:8080/callback']) {
      const res = await fetch(
        authUrl({ redirect_uri: uri, code_challenge: challenge, code_challenge_method: 'S256' }),
        {
          redirect: 'manual',
        },
      );
      assert.equal(res.status, 400, uri);
      assert.equal(res.headers.get('location'), null, uri);
    }
  });

  test('an authorization request without PKCE is refused', async () => {
    const res = await fetch(authUrl({}), { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(
      location.searchParams.get('error_description'),
      'Authorization Server policy requires PKCE to be used for this request',
    );
    assert.equal(location.searchParams.get('code'), null);
  });

  test('PKCE with the plain method is refused', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const res = await fetch(authUrl({ code_challenge: verifier, code_challenge_method: 'plain' }), {
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('code'), null);
  });

  test('a code redeemed without its code_verifier or with a wrong one is refused', async () => {
    const c = await code();
    const missing = await token({ grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_grant');
    const wrong = await redeem({ code: c.code, verifier: oidc.randomPKCECodeVerifier() });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  test('the implicit response types are refused', async () => {
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    for (const responseType of ['token', 'id_token', 'code id_token']) {
      const res = await fetch(
        authUrl({
          response_type: responseType,
          code_challenge: challenge,
          code_challenge_method: 'S256',
          nonce: 'n',
        }),
        { redirect: 'manual' },
      );
      assert.equal(res.status, 303, responseType);
      // Errors for implicit response types travel in the fragment (their default response mode).
      const fragment = new URLSearchParams(new URL(res.headers.get('location')!).hash.slice(1));
      assert.equal(fragment.get('error'), 'unsupported_response_type', responseType);
      assert.equal(fragment.get('access_token'), null);
      assert.equal(fragment.get('id_token'), null);
    }
  });

  test('a disabled user cannot refresh', async () => {
    const issued = await redeem(await code('demo-app', BOB));
    t.accounts.disabled.add(BOB);
    try {
      const res = await refresh(issued.body.refresh_token!);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_grant');
    } finally {
      t.accounts.disabled.delete(BOB);
    }
  });
});
