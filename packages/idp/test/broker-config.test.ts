import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveBrokeringConfig } from '../src/brokering/broker-config.ts';
import { mapClaims } from '../src/brokering/claim-mapping.ts';

/**
 * The presets cannot be reached from here: what is pinned is the configuration they produce (their
 * documented endpoints, scopes and claims) and what the mapping makes of claims shaped like theirs.
 */
const one = (provider: Record<string, unknown>) =>
  resolveBrokeringConfig({ providers: [provider] }).providers[0]!;

describe('idp.brokering configuration', () => {
  test('Google: OpenID Connect at accounts.google.com, the email trusted only when verified', () => {
    const google = one({ id: 'google', preset: 'google', clientId: 'g-client', clientSecret: 's' });
    assert.equal(google.type, 'oidc');
    assert.equal(google.issuer, 'https://accounts.google.com');
    assert.deepEqual(google.scopes, ['openid', 'email', 'profile']);
    assert.equal(google.name, 'Google');
    const mapped = mapClaims(google, {
      sub: '1077',
      email: 'Ann.Lee@gmail.com',
      email_verified: true,
      name: 'Ann',
    });
    assert.deepEqual(mapped, {
      subject: '1077',
      username: 'Ann.Lee',
      email: 'Ann.Lee@gmail.com',
      name: 'Ann',
      roles: [],
    });
    assert.equal(
      mapClaims(google, { sub: '1077', email: 'a@gmail.com', email_verified: false }).email,
      undefined,
    );
  });

  test('Microsoft Entra ID: the tenant issuer, oid as subject, email only with xms_edov', () => {
    const entra = one({ id: 'entra', preset: 'microsoft', tenant: 'contoso.onmicrosoft.com', clientId: 'c' });
    assert.equal(entra.issuer, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0');
    assert.equal(entra.claims.subject, 'oid');
    const claims = {
      sub: 'pairwise',
      oid: 'f1e2',
      preferred_username: 'ann@contoso.com',
      email: 'ann@contoso.com',
    };
    assert.deepEqual(mapClaims(entra, claims), {
      subject: 'f1e2',
      username: 'ann',
      email: undefined,
      name: undefined,
      roles: [],
    });
    assert.equal(mapClaims(entra, { ...claims, xms_edov: true }).email, 'ann@contoso.com');
    for (const tenant of [undefined, 'common', 'organizations']) {
      assert.throws(() => one({ id: 'entra', preset: 'microsoft', tenant, clientId: 'c' }), {
        code: 'IDP_CONFIG_INVALID',
      });
    }
  });

  test('GitHub: plain OAuth 2 with its user API; the numeric id is the subject, the email never trusted', () => {
    const github = one({ id: 'github', preset: 'github', clientId: 'gh', clientSecret: 's' });
    assert.equal(github.type, 'oauth2');
    assert.equal(github.authorizationEndpoint, 'https://github.com/login/oauth/authorize');
    assert.equal(github.tokenEndpoint, 'https://github.com/login/oauth/access_token');
    assert.equal(github.userinfoEndpoint, 'https://api.github.com/user');
    assert.deepEqual(github.scopes, ['read:user', 'user:email']);
    const mapped = mapClaims(github, {
      id: 583231,
      login: 'octocat',
      email: 'octo@github.com',
      name: 'The Octocat',
    });
    assert.deepEqual(mapped, {
      subject: '583231',
      username: 'octocat',
      email: undefined,
      name: 'The Octocat',
      roles: [],
    });
  });

  test('GitLab: OpenID Connect at gitlab.com, nickname as username, groups mapped to roles', () => {
    const gitlab = one({
      id: 'gitlab',
      preset: 'gitlab',
      clientId: 'gl',
      roles: { claim: 'groups', map: { 'acme/admins': ['admin'] }, defaultRoles: ['user'] },
    });
    assert.equal(gitlab.issuer, 'https://gitlab.com');
    assert.deepEqual(gitlab.scopes, ['openid', 'profile', 'email']);
    const mapped = mapClaims(gitlab, { sub: '42', nickname: 'ann', groups: ['acme/admins', 'other'] });
    assert.deepEqual(mapped.roles, ['admin', 'user']);
    assert.equal(mapped.username, 'ann');
  });

  test('a config value overrides the preset', () => {
    const google = one({
      id: 'g',
      preset: 'google',
      clientId: 'c',
      name: 'Staff Google',
      scopes: ['openid'],
    });
    assert.equal(google.name, 'Staff Google');
    assert.deepEqual(google.scopes, ['openid']);
  });

  test('invalid providers are refused at start-up with IDP_CONFIG_INVALID', () => {
    const bad: Record<string, unknown>[] = [
      { id: 'x', clientId: 'c' }, // oidc without issuer
      { id: 'x', clientId: 'c', issuer: 'http://idp.example.com' }, // http off loopback
      { id: 'x', clientId: 'c', issuer: 'https://u:p@idp.example.com' },
      { id: 'x', clientId: 'c', issuer: 'https://idp.example.com', scopes: ['profile'] }, // no openid
      { id: 'x', clientId: 'c', type: 'oauth2', authorizationEndpoint: 'https://a.example.com/auth' },
      { id: 'Bad Id', clientId: 'c', issuer: 'https://idp.example.com' },
      { id: 'x', clientId: 'c', preset: 'facebook' },
      { id: 'x', issuer: 'https://idp.example.com' }, // no clientId
      { id: 'x', clientId: 'c', issuer: 'https://idp.example.com', extra: true },
      // a secret's way to the token endpoint, without a secret, or one openid-client does not offer
      {
        id: 'x',
        clientId: 'c',
        issuer: 'https://idp.example.com',
        tokenEndpointAuthMethod: 'client_secret_post',
      },
      {
        id: 'x',
        clientId: 'c',
        clientSecret: 's',
        issuer: 'https://idp.example.com',
        tokenEndpointAuthMethod: 'private_key_jwt',
      },
    ];
    for (const provider of bad) {
      assert.throws(() => one(provider), { code: 'IDP_CONFIG_INVALID' }, JSON.stringify(provider));
    }
    assert.throws(
      () =>
        resolveBrokeringConfig({
          providers: [
            { id: 'x', clientId: 'c', issuer: 'https://a.example.com' },
            { id: 'x', clientId: 'c', issuer: 'https://b.example.com' },
          ],
        }),
      { code: 'IDP_CONFIG_INVALID' },
    );
    assert.equal(
      one({ id: 'local', clientId: 'c', issuer: 'http://127.0.0.1:9000' }).issuer,
      'http://127.0.0.1:9000',
    );
  });

  test('the client secret goes as Basic credentials unless the provider says client_secret_post', () => {
    const base = { id: 'x', clientId: 'c', clientSecret: 's', issuer: 'https://idp.example.com' };
    assert.equal(one(base).tokenEndpointAuthMethod, 'client_secret_basic');
    assert.equal(
      one({ ...base, tokenEndpointAuthMethod: 'client_secret_post' }).tokenEndpointAuthMethod,
      'client_secret_post',
    );
  });

  test('claims without a usable subject are refused', () => {
    const p = one({ id: 'x', clientId: 'c', issuer: 'https://idp.example.com' });
    for (const claims of [{}, { sub: '' }, { sub: { nested: true } }, { sub: 'x'.repeat(300) }]) {
      assert.throws(() => mapClaims(p, claims), { code: 'IDP_BROKER_RESPONSE_INVALID' });
    }
  });
});
