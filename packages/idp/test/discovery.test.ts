import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startIdp, type TestIdp } from './idp-harness.ts';

// oidcc-config-certification-test-plan conditions (shared/conformance/oidc-op-checklist.md).
describe('discovery and JWKS', () => {
  let t: TestIdp;
  let doc: Record<string, unknown>;
  let contentType: string | null;

  before(async () => {
    t = await startIdp();
    const res = await fetch(`${t.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    contentType = res.headers.get('content-type');
    doc = (await res.json()) as Record<string, unknown>;
  });
  after(() => t?.close());

  test('discovery answers JSON whose issuer is the URL it was fetched from', () => {
    assert.match(contentType ?? '', /^application\/json/);
    assert.equal(doc['issuer'], t.issuer);
  });

  test('the issuer stays the same whatever Host and X-Forwarded headers a request carries', async () => {
    const res = await fetch(`${t.issuer}/.well-known/openid-configuration`, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body['issuer'], t.issuer);
    assert.equal(body['token_endpoint'], `${t.issuer}/token`);
  });

  test('only the code flow is offered: no implicit, no hybrid, no password grant', () => {
    assert.deepEqual(doc['response_types_supported'], ['code']);
    const grants = doc['grant_types_supported'] as string[];
    assert.ok(grants.includes('authorization_code'));
    assert.ok(grants.includes('refresh_token'));
    assert.ok(grants.includes('client_credentials'));
    assert.ok(!grants.includes('implicit'));
    assert.ok(!grants.includes('password'));
  });

  test('PKCE is advertised with S256 only', () => {
    assert.deepEqual(doc['code_challenge_methods_supported'], ['S256']);
  });

  test('the required metadata is present', () => {
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'introspection_endpoint',
      'revocation_endpoint',
      'end_session_endpoint',
    ]) {
      assert.equal(typeof doc[key], 'string', key);
      assert.ok((doc[key] as string).startsWith(`${t.issuer}/`), key);
    }
    assert.deepEqual(doc['subject_types_supported'], ['public']);
    assert.ok((doc['scopes_supported'] as string[]).includes('openid'));
    assert.deepEqual(
      doc['id_token_signing_alg_values_supported'],
      ['ES256', 'RS256'],
      'the algorithms of the keys held: RS256 as OpenID Connect Discovery 1.0 section 3 requires',
    );
    const methods = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'];
    assert.deepEqual(doc['introspection_endpoint_auth_methods_supported'], methods);
    assert.deepEqual(doc['revocation_endpoint_auth_methods_supported'], methods);
    assert.deepEqual(doc['token_endpoint_auth_methods_supported'], [
      'none',
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
    ]);
    assert.equal(doc['backchannel_logout_supported'], true);
    assert.equal(doc['jwks_uri'], `${t.issuer}/jwks`);
  });

  test('the JWKS holds public asymmetric keys only, each with a kid', async () => {
    const res = await fetch(doc['jwks_uri'] as string);
    assert.equal(res.status, 200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    assert.equal(keys.length, 4, 'the active key and the next one, ES256 and RSA for RS256 ID tokens');
    assert.deepEqual(keys.map((k) => `${k['kty']}:${k['alg']}`).sort(), [
      'EC:ES256',
      'EC:ES256',
      'RSA:RS256',
      'RSA:RS256',
    ]);
    for (const k of keys) {
      assert.equal(k['use'], 'sig');
      assert.equal(typeof k['kid'], 'string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[secret], undefined, secret);
    }
  });

  test('the readiness probe answers when storage and state answer', async () => {
    const res = await fetch(`${t.origin}/health/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', checks: { sql: 'ok', state: 'ok' } });
    assert.equal((await fetch(`${t.origin}/health/live`)).status, 200);
  });

  test('a path outside the provider is a 404 with a stable code', async () => {
    const res = await fetch(`${t.origin}/nowhere`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'GH_NOT_FOUND', message: 'No route matches this request' });
  });
});
