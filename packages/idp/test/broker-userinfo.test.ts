import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import { after, describe, test } from 'node:test';
import { type GatehouseError, silentLogger } from '@gatehouse/core';
import { resolveBrokeringConfig } from '../src/brokering/broker-config.ts';
import { mapClaims } from '../src/brokering/claim-mapping.ts';
import { type DemoUpstream, startDemoUpstream } from '../src/brokering/demo-upstream.ts';
import { createUpstream, newPendingAuthorization } from '../src/brokering/upstream.ts';

/**
 * The broker's relying-party side against a real OpenID provider (the demo upstream, oidc-provider):
 * userinfo is asked only when the validated ID token lacks a claim the mapping reads, and an
 * upstream that stops answering is told from one that refuses (openid-client's requests go through
 * upstream-fetch.ts).
 */
const CALLBACK = 'http://127.0.0.1:9/broker-callback';

interface Started {
  upstream: DemoUpstream;
  /** Requests that reached the upstream, by path. */
  seen: string[];
}

const started: DemoUpstream[] = [];
after(async () => {
  for (const u of started) await u.close();
});

async function startUpstream(idTokenClaims: boolean): Promise<Started> {
  const seen: string[] = [];
  const wrap =
    (handler: RequestListener): RequestListener =>
    (req, res) => {
      seen.push((req.url ?? '').split('?')[0]!);
      handler(req, res);
    };
  const upstream = await startDemoUpstream({ idTokenClaims, wrap, redirectUris: [CALLBACK] });
  started.push(upstream);
  return { upstream, seen };
}

function providerFor(upstream: DemoUpstream, claims: Record<string, string> = {}) {
  return resolveBrokeringConfig({
    providers: [
      {
        id: 'example',
        name: 'Example Corp',
        issuer: upstream.issuer,
        clientId: upstream.clientId,
        clientSecret: upstream.clientSecret,
        scopes: ['openid', 'profile', 'email', 'groups'],
        claims,
        roles: { claim: 'groups', map: { staff: ['staff'] }, defaultRoles: ['user'] },
      },
    ],
  }).providers[0]!;
}

/** Dana signs in at the upstream in a cookie-keeping client; resolves the callback URL it sends her to. */
async function signInUpstream(authorizationUrl: URL): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form,
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    const location = res.headers.get('location');
    await res.body?.cancel();
    form = undefined;
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(`${CALLBACK}?`)) return next;
      url = next;
      continue;
    }
    assert.equal(res.status, 200, `${url.pathname} answered ${res.status}`);
    form = new URLSearchParams({ username: 'dana', password: 'dana-example-corp' });
  }
  throw new Error('the upstream never sent the browser back');
}

describe('userinfo, asked only for what the ID token lacks', () => {
  test('an ID token carrying every mapped claim: no userinfo request, the same mapped identity', async () => {
    const { upstream, seen } = await startUpstream(true);
    const rp = createUpstream(providerFor(upstream), silentLogger());
    const pending = newPendingAuthorization();
    const callback = await signInUpstream(await rp.authorizationUrl(CALLBACK, pending));
    const { claims } = await rp.callback(callback, pending);
    assert.ok(seen.includes('/token'), 'the code was exchanged');
    assert.equal(seen.includes('/me'), false, 'no userinfo request');
    assert.deepEqual(mapClaims(providerFor(upstream), claims), {
      subject: 'dana',
      username: 'dana',
      email: 'dana@example.com',
      name: 'Dana Example',
      roles: ['staff', 'user'],
    });
  });

  test('an ID token with only sub (claims at userinfo): userinfo is asked, the same mapped identity', async () => {
    const { upstream, seen } = await startUpstream(false);
    const rp = createUpstream(providerFor(upstream), silentLogger());
    const pending = newPendingAuthorization();
    const callback = await signInUpstream(await rp.authorizationUrl(CALLBACK, pending));
    const { claims } = await rp.callback(callback, pending);
    assert.equal(seen.filter((p) => p === '/me').length, 1, 'one userinfo request');
    assert.deepEqual(mapClaims(providerFor(upstream), claims), {
      subject: 'dana',
      username: 'dana',
      email: 'dana@example.com',
      name: 'Dana Example',
      roles: ['staff', 'user'],
    });
  });

  test('a mapping that reads a claim the ID token lacks: userinfo is asked', async () => {
    const { upstream, seen } = await startUpstream(true);
    const provider = providerFor(upstream, { name: 'nickname' });
    const rp = createUpstream(provider, silentLogger());
    const pending = newPendingAuthorization();
    const callback = await signInUpstream(await rp.authorizationUrl(CALLBACK, pending));
    await rp.callback(callback, pending);
    assert.equal(seen.filter((p) => p === '/me').length, 1, 'one userinfo request');
  });
});

describe('an upstream that stops answering', () => {
  test('after the sign-in there, the code exchange fails with IDP_BROKER_UPSTREAM_UNAVAILABLE', async () => {
    const { upstream } = await startUpstream(true);
    const rp = createUpstream(providerFor(upstream), silentLogger());
    const pending = newPendingAuthorization();
    const callback = await signInUpstream(await rp.authorizationUrl(CALLBACK, pending));
    await upstream.close();
    await assert.rejects(rp.callback(callback, pending), (err: GatehouseError) => {
      assert.equal(err.code, 'IDP_BROKER_UPSTREAM_UNAVAILABLE');
      return true;
    });
  });

  test('at discovery: IDP_BROKER_UPSTREAM_UNAVAILABLE', async () => {
    const { upstream } = await startUpstream(true);
    const provider = providerFor(upstream);
    await upstream.close();
    const rp = createUpstream(provider, silentLogger());
    await assert.rejects(rp.authorizationUrl(CALLBACK, newPendingAuthorization()), (err: GatehouseError) => {
      assert.equal(err.code, 'IDP_BROKER_UPSTREAM_UNAVAILABLE');
      return true;
    });
  });
});
