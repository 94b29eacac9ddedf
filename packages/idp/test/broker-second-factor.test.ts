import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DemoUpstream, startDemoUpstream } from '../src/brokering/demo-upstream.ts';
import { type AccountsIdp, openLoginPage, startAccountsIdp } from './accounts-harness.ts';

/**
 * A brokered sign-in meets the same second-factor rule as a password one: with `mfa.requiredRoles`
 * naming a role the provider's mapping gives, the person is asked to set up a second factor, both
 * at the first sign-in (new account) and at the next (linked identity); someone without that role
 * is signed in.
 */
describe('a brokered sign-in and the second-factor rule', () => {
  let t: AccountsIdp;
  let upstream: DemoUpstream;

  before(async () => {
    upstream = await startDemoUpstream();
    t = await startAccountsIdp({
      idp: {
        mfa: { requiredRoles: ['staff'] },
        brokering: {
          providers: [
            {
              id: 'example',
              name: 'Example Corp',
              issuer: upstream.issuer,
              clientId: upstream.clientId,
              clientSecret: upstream.clientSecret,
              scopes: ['openid', 'profile', 'email', 'groups'],
              roles: { claim: 'groups', map: { staff: ['staff'] }, defaultRoles: ['user'] },
            },
          ],
        },
      },
    });
    upstream.setRedirectUris([`${t.origin}/auth/interaction/broker-callback`]);
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  /** Through Example Corp as `username`; resolves to the idp's answer after the broker is done. */
  async function brokeredSignIn(username: string, password: string): Promise<Response> {
    const { page, csrf, browser } = await openLoginPage(t);
    const post = (url: URL | string, fields: Record<string, string>, cookie: string) =>
      fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie,
          'content-type': 'application/x-www-form-urlencoded',
          origin: new URL(url).origin,
        },
        body: new URLSearchParams(fields),
      });
    let res = await post(`${page.href}/broker`, { csrf, provider: 'example' }, browser.header());
    const upstreamJar = new Map<string, string>();
    const upstreamCookie = () => [...upstreamJar].map(([k, v]) => `${k}=${v}`).join('; ');
    // At Example Corp: its login page, the password, back to the broker's callback.
    let at = new URL(page);
    for (let hop = 0; hop < 10; hop++) {
      const location = new URL(res.headers.get('location') ?? '', at);
      if (location.origin === t.origin) break;
      at = location;
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(';')[0]!;
        upstreamJar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      res = await fetch(location, { redirect: 'manual', headers: { cookie: upstreamCookie() } });
      if (res.status === 200) {
        await res.body?.cancel();
        res = await post(location, { username, password }, upstreamCookie());
      }
    }
    // The broker's callback, then the interaction page, which signs in or asks the first-login choice.
    const callback = new URL(res.headers.get('location')!, at);
    assert.equal(callback.pathname, '/auth/interaction/broker-callback');
    res = await fetch(callback, { redirect: 'manual', headers: { cookie: browser.header() } });
    assert.equal(res.status, 303);
    res = await fetch(new URL(res.headers.get('location')!, t.origin), {
      redirect: 'manual',
      headers: { cookie: browser.header() },
    });
    if (res.status === 200) {
      const html = await res.clone().text();
      if (html.includes('broker-create')) {
        const csrf2 = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
        res = await post(`${page.href}/broker-create`, { csrf: csrf2 }, browser.header());
      }
    }
    return res;
  }

  test('a person with a required role is asked to set up a second factor, at the first and the next sign-in', async () => {
    for (const when of ['first', 'next']) {
      const res = await brokeredSignIn('dana', 'dana-example-corp');
      assert.equal(res.status, 200, `${when} sign-in: a page, not a redirect`);
      const html = await res.text();
      assert.match(html, /totp-setup/, `${when} sign-in: the second-factor setup page`);
    }
  });

  test('a person without it is signed in', async () => {
    const res = await brokeredSignIn('sam', 'sam-example-corp');
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location')!, /\/auth\/auth\//);
  });
});
