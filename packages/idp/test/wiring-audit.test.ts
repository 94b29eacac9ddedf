import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { type AuditEventType, createAudit, type StoredAuditEvent } from '../src/audit/audit.ts';
import { rotateKeys } from '../src/keys/keys.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';
const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

// createIdp records provider events in the audit trail without any wiring by the caller.
describe('provider events in the audit trail', { timeout: 60_000 }, () => {
  let t: TestIdp;
  let audit: ReturnType<typeof createAudit>;

  before(async () => {
    t = await startIdp();
    audit = createAudit(t.sql);
  });
  after(() => t?.close());

  /** Events are stored without holding up the response: wait (bounded) until a match is stored. */
  async function eventOf(
    type: AuditEventType,
    match: (e: StoredAuditEvent) => boolean,
  ): Promise<StoredAuditEvent> {
    for (let i = 0; i < 400; i++) {
      const found = (await audit.query({ type, limit: 500 })).find(match);
      if (found) return found;
      await delay(25);
    }
    throw new Error(`no ${type} event stored`);
  }

  async function clientCredentials(): Promise<number> {
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    return res.status;
  }

  async function login(scope: string) {
    const rp = await oidc.discovery(new URL(t.issuer), 'demo-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const jar = cookieJar();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
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

  test('a client-credentials token is recorded as token.issued', async () => {
    assert.equal(await clientCredentials(), 200);
    const event = await eventOf('token.issued', (e) => e.clientId === 'demo-service');
    assert.equal(event.details['grantType'], 'client_credentials');
    assert.equal(event.sourceIp !== null, true);
  });

  test('a reused refresh token is recorded as refresh.reuse_detected and its grant as grant.revoked', async () => {
    const { rp, tokens } = await login('openid offline_access');
    await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), { error: 'invalid_grant' });
    const reuse = await eventOf('refresh.reuse_detected', (e) => e.subject === ALICE);
    assert.equal(reuse.clientId, 'demo-app');
    assert.equal(reuse.details['action'], 'grant revoked');
    const grantId = reuse.details['grantId'];
    assert.equal(typeof grantId, 'string');
    const revoked = await eventOf('grant.revoked', (e) => e.details['grantId'] === grantId);
    assert.equal(revoked.clientId, 'demo-app');
  });

  test('an RP-initiated logout is recorded as logout', async () => {
    const { rp, jar } = await login('openid');
    const page = await fetch(oidc.buildEndSessionUrl(rp, { client_id: 'demo-app' }), {
      headers: { cookie: jar.header() },
    });
    jar.take(page);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(xsrf);
    const confirm = await fetch(`${t.issuer}/session/end/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': form },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    assert.equal(confirm.status, 303);
    const event = await eventOf('logout', (e) => e.subject === ALICE);
    assert.equal(event.actor, ALICE);
    assert.equal(event.clientId, 'demo-app');
    assert.equal(event.details['via'], 'oidc end_session');
  });

  test('the provider rebuilt after a key rotation records events too', async () => {
    const before = t.idp.provider;
    await rotateKeys(t.sql, t.idp.runtime.config, {});
    await t.idp.keys.reload();
    assert.notEqual(t.idp.provider, before);
    const count = (await audit.query({ type: 'token.issued', clientId: 'demo-service', limit: 500 })).length;
    assert.equal(await clientCredentials(), 200);
    for (let i = 0; i < 400; i++) {
      if ((await audit.query({ type: 'token.issued', clientId: 'demo-service', limit: 500 })).length > count)
        return;
      await delay(25);
    }
    assert.fail('no token.issued event after the rebuild');
  });
});
