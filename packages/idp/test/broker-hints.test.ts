import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DemoUpstream, startDemoUpstream } from '../src/brokering/demo-upstream.ts';
import { upstreamHints } from '../src/brokering/upstream.ts';
import { type AccountsIdp, openLoginPage, startAccountsIdp } from './accounts-harness.ts';

/**
 * `login_hint` and `prompt=login` from the relying party reach the upstream: the person who was
 * asked to sign in again is asked again there, and the name the relying party knew is offered.
 */
describe('the relying party’s hints, passed to the upstream', () => {
  let t: AccountsIdp;
  let upstream: DemoUpstream;

  before(async () => {
    upstream = await startDemoUpstream();
    t = await startAccountsIdp({
      idp: {
        brokering: {
          providers: [
            {
              id: 'example',
              name: 'Example Corp',
              issuer: upstream.issuer,
              clientId: upstream.clientId,
              clientSecret: upstream.clientSecret,
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

  /** The upstream authorization URL the provider's button sends the browser to. */
  async function upstreamUrlFor(params: Record<string, string>): Promise<URL> {
    const { page, csrf, browser } = await openLoginPage(t, params);
    const res = await fetch(`${page.href}/broker`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: browser.header(),
        'content-type': 'application/x-www-form-urlencoded',
        origin: t.origin,
      },
      body: new URLSearchParams({ csrf, provider: 'example' }),
    });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin, new URL(upstream.issuer).origin);
    return location;
  }

  test('login_hint and prompt=login sent by the relying party are passed on', async () => {
    const url = await upstreamUrlFor({ login_hint: 'dana@example.com', prompt: 'login' });
    assert.equal(url.searchParams.get('login_hint'), 'dana@example.com');
    assert.equal(url.searchParams.get('prompt'), 'login');
  });

  test('without them, the upstream gets neither', async () => {
    const url = await upstreamUrlFor({});
    assert.equal(url.searchParams.has('login_hint'), false);
    assert.equal(url.searchParams.has('prompt'), false);
  });

  test('prompt=login among other prompts is passed as login only; prompt=consent is not passed', async () => {
    assert.equal((await upstreamUrlFor({ prompt: 'login consent' })).searchParams.get('prompt'), 'login');
    assert.equal((await upstreamUrlFor({ prompt: 'consent' })).searchParams.has('prompt'), false);
  });

  test('a login_hint too long or with control characters is not passed on; the sign-in goes on', async () => {
    const url = await upstreamUrlFor({ login_hint: 'x'.repeat(257) });
    assert.equal(url.searchParams.has('login_hint'), false);
    assert.equal(url.searchParams.has('state'), true);
    assert.deepEqual(upstreamHints({ login_hint: 'dana\u0000@example.com' }), {
      loginHint: undefined,
      promptLogin: false,
    });
    assert.deepEqual(upstreamHints({ login_hint: 42, prompt: ['login'] }), {
      loginHint: undefined,
      promptLogin: false,
    });
    assert.equal(upstreamHints({ login_hint: 'x'.repeat(256) }).loginHint?.length, 256);
  });
});
