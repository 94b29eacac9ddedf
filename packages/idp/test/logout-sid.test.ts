import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { clientMetadataFromConfig } from '../src/protocol/clients.ts';
import { REVOCATIONS_CHANNEL, revokedKey } from '../src/revocation/revocation-publisher.ts';
import { ALICE, authorize, cookieJar, idpConfig, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';
const BC_REDIRECT = 'http://localhost:8080/bc-callback';

describe('logout revokes the session id', { timeout: 60_000 }, () => {
  let t: TestIdp;
  let receiver: Server;
  const logoutTokens: string[] = [];
  const messages: Array<{ kind: string; value: string; expiresAt: number }> = [];
  let waiters: Array<() => void> = [];
  const changed = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  /** Resolves once `check()` holds, re-checked whenever a message or logout token arrives. */
  async function until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise<void>((resolve) => waiters.push(resolve));
  }

  before(async () => {
    // The back-channel logout endpoint of a relying party.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token');
        if (token) logoutTokens.push(token);
        res.writeHead(200).end();
        changed();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    t = await startIdp({
      config: {
        allowPrivateNetworkFetch: true,
        clients: [
          {
            clientId: 'bc-app',
            tokenEndpointAuthMethod: 'none',
            grantTypes: ['authorization_code'],
            redirectUris: [BC_REDIRECT],
            postLogoutRedirectUris: ['http://localhost:8080/'],
            scope: 'openid profile',
            firstParty: true,
            backchannelLogoutUri: `http://127.0.0.1:${port}/backchannel`,
            backchannelLogoutSessionRequired: true,
          },
        ],
      },
    });
    await t.state.subscribe(REVOCATIONS_CHANNEL, (message) => {
      messages.push(JSON.parse(message) as (typeof messages)[number]);
      changed();
    });
  });
  after(async () => {
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  async function login(clientId: string, redirectUri: string, scope: string) {
    const rp = await oidc.discovery(new URL(t.issuer), clientId, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const jar = cookieJar();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: redirectUri,
      scope,
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await authorize(t, url, ALICE, jar);
    const tokens = await oidc.authorizationCodeGrant(rp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { rp, jar, tokens };
  }

  /** RP-initiated logout through the confirmation form; `logout: 'yes'` ends the whole session. */
  async function logout(
    rp: oidc.Configuration,
    jar: ReturnType<typeof cookieJar>,
    clientId: string,
    everything: boolean,
  ): Promise<number> {
    const page = await fetch(oidc.buildEndSessionUrl(rp, { client_id: clientId }), {
      headers: { cookie: jar.header() },
    });
    jar.take(page);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(xsrf);
    const confirm = await fetch(`${t.issuer}/session/end/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(everything ? { xsrf, logout: 'yes' } : { xsrf }).toString(),
    });
    jar.take(confirm);
    return confirm.status;
  }

  async function introspect(rp: oidc.Configuration, token: string) {
    return oidc.tokenIntrospection(rp, token);
  }

  test('RP-initiated logout publishes the session id on gatehouse.revocations and sets its state key', async () => {
    const { rp, jar, tokens } = await login('demo-app', REDIRECT, 'openid profile');
    const claims = decodeJwt(tokens.access_token);
    const sid = claims['sid'] as string;
    assert.equal(typeof sid, 'string');
    assert.equal(await logout(rp, jar, 'demo-app', true), 303);
    await until(() => messages.some((m) => m.kind === 'sid' && m.value === sid));
    const message = messages.find((m) => m.kind === 'sid' && m.value === sid)!;
    assert.ok(message.expiresAt >= claims.exp!, 'the revocation lasts as long as the tokens it names');
    assert.equal(await t.state.get(revokedKey('sid', sid)), '1');
    assert.equal(await t.idp.revocations.isRevoked('sid', sid), true);
  });

  test('an access token of a grant that outlives the logout is inactive through its sid', async () => {
    // offline_access grants persist logout (oidc-provider): their jtis are not revoked, only the sid.
    const { rp, jar, tokens } = await login('demo-app', REDIRECT, 'openid offline_access');
    assert.equal((await introspect(rp, tokens.access_token)).active, true);
    assert.equal(await logout(rp, jar, 'demo-app', true), 303);
    assert.deepEqual(await introspect(rp, tokens.access_token), { active: false });
  });

  test('a refresh after the logout gives a working token without the revoked sid', async () => {
    const { rp, jar, tokens } = await login('demo-app', REDIRECT, 'openid offline_access');
    const sid = decodeJwt(tokens.access_token)['sid'];
    assert.equal(await logout(rp, jar, 'demo-app', true), 303);
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    const claims = decodeJwt(refreshed.access_token);
    assert.equal(typeof sid, 'string');
    assert.equal(claims['sid'], undefined);
    assert.equal(claims.sub, ALICE);
    assert.equal((await introspect(rp, refreshed.access_token)).active, true);
  });

  test('signing out of one client only keeps the session and its sid', async () => {
    const { rp, jar, tokens } = await login('demo-app', REDIRECT, 'openid profile');
    const sid = decodeJwt(tokens.access_token)['sid'] as string;
    assert.equal(await logout(rp, jar, 'demo-app', false), 303);
    assert.equal(await t.idp.revocations.isRevoked('sid', sid), false);
  });

  test('a back-channel logout token carries sid when the client requires it', async () => {
    const { rp, jar, tokens } = await login('bc-app', BC_REDIRECT, 'openid');
    const idTokenSid = tokens.claims()!['sid'];
    assert.equal(typeof idTokenSid, 'string');
    const before = logoutTokens.length;
    assert.equal(await logout(rp, jar, 'bc-app', true), 303);
    await until(() => logoutTokens.length > before);
    const logoutClaims = decodeJwt(logoutTokens[before]!);
    assert.equal(logoutClaims['sid'], idTokenSid);
    assert.equal(logoutClaims.sub, ALICE);
    assert.equal(logoutClaims.aud, 'bc-app');
    assert.deepEqual(logoutClaims['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
  });

  test('backchannelLogoutSessionRequired becomes backchannel_logout_session_required', () => {
    const [client] = idpConfig({
      clients: [
        {
          clientId: 'x',
          tokenEndpointAuthMethod: 'none',
          redirectUris: ['https://x.example/cb'],
          backchannelLogoutUri: 'https://x.example/bc',
          backchannelLogoutSessionRequired: true,
        },
      ],
    }).clients;
    const md = clientMetadataFromConfig(client!);
    assert.equal(md.backchannel_logout_session_required, true);
    assert.equal(md.backchannel_logout_uri, 'https://x.example/bc');
  });
});
