// A relying party no one here wrote — Apache httpd with Debian's
// mod_auth_openidc, on loopback — protects a page with the identity provider of a real
// `gatehouse dev` process and lets alice in after she signs in on the hosted page.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ApacheRp,
  apacheMissing,
  apacheRedirectUri,
  freePort,
  startApacheRp,
} from './support/apache-openidc.ts';
import { Browser, forms, signIn } from './support/browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const CLIENT_ID = 'apache-rp';
const CLIENT_SECRET = 'apache-rp-secret-for-the-test';

const missing = apacheMissing();
if (missing && process.env['CI'] === 'true') throw new Error(`CI=true and ${missing}`);
if (missing) console.log(`# skipping mod_auth_openidc tests: ${missing}`);

describe('Apache mod_auth_openidc as a relying party of gatehouse dev', {
  skip: missing,
  timeout: 110_000,
}, () => {
  const configDir = mkdtempSync(join(tmpdir(), 'gh-rp-apache-config-'));
  let dev: DevStack;
  let apache: ApacheRp;

  before(async () => {
    const port = await freePort();
    // The dev stack reads its clients from the config file; JSON is valid YAML.
    const configFile = join(configDir, 'gatehouse.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        idp: {
          clients: [
            {
              clientId: CLIENT_ID,
              clientSecret: CLIENT_SECRET,
              tokenEndpointAuthMethod: 'client_secret_basic',
              grantTypes: ['authorization_code', 'refresh_token'],
              redirectUris: [apacheRedirectUri(port)],
              scope: 'openid profile email',
            },
          ],
        },
      }),
    );
    dev = await startDevStack({ GATEHOUSE_CONFIG: configFile });
    apache = await startApacheRp({
      port,
      metadataUrl: `${dev.issuer}/.well-known/openid-configuration`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
  });
  after(async () => {
    await apache?.close();
    await dev?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  test('an anonymous request for the protected page is sent to the authorization endpoint with code, PKCE S256 and the registered redirect URI', async () => {
    const res = await new Browser().request(apache.protectedUrl);
    assert.equal(res.status, 302, apache.errorLog());
    const location = new URL(res.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, `${dev.issuer}/auth`);
    const p = location.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), CLIENT_ID);
    assert.equal(p.get('redirect_uri'), apache.redirectUri);
    assert.equal(p.get('scope'), 'openid profile email');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(p.get('state'));
    assert.ok(p.get('nonce'));
  });

  test('alice signs in on the hosted page, allows access, and Apache serves the page with her claims', async () => {
    const browser = new Browser();
    const seen: string[] = [];
    const start = await browser.navigate(apache.protectedUrl);
    assert.equal(start.url.origin, dev.origin);
    const page = await signIn(
      browser,
      start,
      { username: 'alice', password: 'alice-password' },
      undefined,
      seen,
    );
    assert.deepEqual(seen, ['login', 'consent']);
    assert.equal(page.status, 200, `${page.html}\n${apache.errorLog()}`);
    assert.equal(page.url.href, apache.protectedUrl);
    const lines = page.html.trim().split('\n');
    assert.ok(lines.includes('REMOTE_USER=alice'), page.html);
    assert.ok(lines.includes('OIDC_CLAIM_preferred_username=alice'), page.html);
    assert.ok(lines.includes('OIDC_CLAIM_email=alice@example.com'), page.html);
    assert.ok(lines.includes(`OIDC_CLAIM_iss=${dev.issuer}`), page.html);
    assert.ok(lines.includes(`OIDC_CLAIM_aud=${CLIENT_ID}`), page.html);
    // The code went back to Apache's registered redirect URI, not anywhere else.
    assert.ok(browser.visited.some((u) => `${u.origin}${u.pathname}` === apache.redirectUri));

    // Apache's own session now lets her in without another trip to the identity provider.
    const before = browser.visited.length;
    const again = await browser.navigate(apache.protectedUrl);
    assert.equal(again.status, 200);
    assert.ok(again.html.includes('OIDC_CLAIM_preferred_username=alice'));
    assert.equal(browser.visited.length, before + 1);
  });

  test('a wrong password leaves the browser on the login page and Apache never lets it in', async () => {
    const browser = new Browser();
    const start = await browser.navigate(apache.protectedUrl);
    const page = await signIn(browser, start, { username: 'alice', password: 'not-her-password' });
    assert.equal(page.status, 401);
    assert.equal(page.url.origin, dev.origin);
    assert.ok(
      forms(page).some((f) => f.passwordInputs.length > 0),
      'the login form is shown again',
    );
    const res = await browser.request(apache.protectedUrl);
    assert.equal(res.status, 302);
    assert.ok(res.headers.get('location')!.startsWith(`${dev.issuer}/auth?`));
  });
});
