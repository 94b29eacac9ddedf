import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attachProviderAudit, sanitizeDetails } from '../src/audit/audit.ts';
import { type AccountsIdp, startAccountsIdp, tokensFor } from './accounts-harness.ts';

describe('audit details never hold secrets', () => {
  test('secret-looking keys are dropped at every depth and long strings are cut', () => {
    const clean = sanitizeDetails({
      action: 'x',
      password: 'hunter2',
      nested: {
        client_secret: 's',
        refreshToken: 't',
        cookie: 'c',
        ok: 1,
        deeper: { Authorization: 'Bearer x', keep: true },
      },
      code: 'abc',
      code_verifier: 'v',
      long: 'y'.repeat(1000),
    }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(clean).sort(), ['action', 'long', 'nested']);
    assert.deepEqual(clean['nested'], { ok: 1, deeper: { keep: true } });
    assert.equal((clean['long'] as string).length, 257);
  });
});

describe('audit trail', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    attachProviderAudit(t.idp.provider, t.accounts.audit);
  });
  after(() => t?.close());

  test('a successful and a failed login are recorded with source address and no password', async () => {
    const login = (password: string) =>
      fetch(`${t.origin}/authentication/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.77' },
        body: JSON.stringify({ username: 'bob', password }),
      });
    assert.equal((await login('bob-password')).status, 200);
    assert.equal((await login('not-bobs-password')).status, 401);
    const bob = await t.accounts.getByUsername('bob');
    const ok = await t.accounts.audit.query({ type: 'login.succeeded', subject: bob!.id, limit: 1 });
    assert.equal(ok[0]?.sourceIp, '192.0.2.77');
    assert.equal(ok[0]?.details['via'], 'session-api');
    const failed = await t.accounts.audit.query({ type: 'login.failed', subject: bob!.id, limit: 1 });
    assert.equal(failed[0]?.details['reason'], 'wrong password');
    const all = JSON.stringify(await t.accounts.audit.query({ limit: 500 }));
    assert.doesNotMatch(all, /not-bobs-password|bob-password/);
  });

  test('a token issued at the token endpoint is recorded with its client', async () => {
    await tokensFor(t, 'alice', 'alice-password');
    const alice = await t.accounts.getByUsername('alice');
    const issued = await t.accounts.audit.query({ type: 'token.issued', clientId: 'demo-app' });
    assert.ok(issued.some((e) => e.subject === alice!.id && e.details['grantType'] === 'authorization_code'));
  });

  test('a reused refresh token is recorded as refresh.reuse_detected', async () => {
    const first = await tokensFor(t, 'alice', 'alice-password', {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    assert.ok(first.refresh_token, 'a refresh token was issued');
    const refresh = () =>
      fetch(`${t.origin}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: first.refresh_token!,
          client_id: 'demo-app',
        }),
      });
    assert.equal((await refresh()).status, 200);
    assert.equal((await refresh()).status, 400);
    const reuse = await t.accounts.audit.query({ type: 'refresh.reuse_detected' });
    assert.equal(reuse.length, 1);
    assert.equal(reuse[0]!.clientId, 'demo-app');
    assert.doesNotMatch(JSON.stringify(reuse), new RegExp(first.refresh_token!));
  });

  test('events filter by type, subject and time, newest first, and page with beforeId', async () => {
    const all = await t.accounts.audit.query({ limit: 500 });
    assert.ok(all.length >= 3);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.id > all[i]!.id);
    const page = await t.accounts.audit.query({ beforeId: all[0]!.id, limit: 2 });
    assert.deepEqual(
      page.map((e) => e.id),
      [all[1]!.id, all[2]!.id],
    );
    assert.deepEqual(await t.accounts.audit.query({ since: new Date(Date.now() + 60_000) }), []);
  });
});
