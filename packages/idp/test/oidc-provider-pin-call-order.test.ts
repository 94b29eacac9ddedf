import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { OIDC_PROVIDER_VERSION } from '../src/protocol/oidc-provider-internals.ts';
import type { SqlAdapter } from '../src/storage/adapter.ts';
import { currentUnitOfWork, UnitOfWork, type UnitOfWorkKind } from '../src/storage/unit-of-work.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

// The storage adapter reads ahead (src/storage/adapter.ts): the first lookup of a token request or
// an authorization resume reads, in the same statement, what oidc-provider asks for next. These
// tests record the adapter calls the installed oidc-provider makes in each flow, with what the
// request's unit of work handed out from the read-ahead, and assert the sequences the adapter's
// header describes. With oidc-provider-pin.test.ts, an upgrade that calls in another order fails
// here, named. Another order is not wrong, only slower: adapter-read-ahead.test.ts shows the answers
// then stay those of plain reads.
const require = createRequire(import.meta.url);

const REDIRECT = 'http://localhost:8080/callback';
const ADAPTER_METHODS = [
  'upsert',
  'find',
  'findByUid',
  'findByUserCode',
  'consume',
  'destroy',
  'revokeByGrantId',
] as const;
const READ_AHEAD_TAKES = ['takeGrant', 'takeSession', 'takeSidRevocation', 'takeAccount'] as const;

test('the call order below was recorded against the pinned oidc-provider', () => {
  const installed = (require('oidc-provider/package.json') as { version: string }).version;
  assert.equal(OIDC_PROVIDER_VERSION, '9.13.3');
  assert.equal(installed, OIDC_PROVIDER_VERSION);
});

describe('the order in which oidc-provider calls the storage adapter', { timeout: 60_000 }, () => {
  let t: TestIdp;
  let rp: oidc.Configuration;
  /** The kind of request whose calls are recorded now, if any. */
  let recording: UnitOfWorkKind | undefined;
  let calls: string[] = [];
  const restore: Array<() => void> = [];

  /** Note `what` when it happens in a request of the kind being recorded. */
  function note(what: string): void {
    if (recording !== undefined && currentUnitOfWork()?.kind === recording) calls.push(what);
  }

  /** Replace `object[name]` with `wrap(original)` until the tests end. */
  function wrap<T extends object>(
    object: T,
    name: string,
    wrapper: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown,
  ): void {
    const target = object as Record<string, (...args: unknown[]) => unknown>;
    const original = target[name]!;
    target[name] = wrapper(original);
    restore.push(() => {
      target[name] = original;
    });
  }

  before(async () => {
    t = await startIdp();
    rp = await oidc.discovery(new URL(t.issuer), 'demo-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    // Every model's adapter is an instance of the one class createIdp built.
    const adapterClass = Object.getPrototypeOf(t.idp.provider.Grant.adapter) as SqlAdapter;
    for (const method of ADAPTER_METHODS) {
      wrap(
        adapterClass,
        method,
        (original) =>
          function recorded(this: SqlAdapter, ...args: unknown[]) {
            // Client lookups go through a cache (clients.ts): whether they reach the adapter depends on time.
            if (this.model !== 'Client') note(`${this.model}.${method}`);
            return original.apply(this, args);
          },
      );
    }
    for (const take of READ_AHEAD_TAKES) {
      wrap(
        UnitOfWork.prototype,
        take,
        (original) =>
          function recorded(this: UnitOfWork, ...args: unknown[]) {
            const taken = original.apply(this, args);
            note(`  ${take}: ${taken === undefined ? 'not read ahead' : 'read ahead'}`);
            return taken;
          },
      );
    }
    wrap(t.accounts, 'findAccount', (original) => (...args: unknown[]) => {
      note('findAccount');
      return original(...args);
    });
  });
  after(async () => {
    for (const undo of restore.reverse()) undo();
    await t?.close();
  });

  /** `step`'s calls made in requests of `kind`. */
  async function record(kind: UnitOfWorkKind, step: () => Promise<unknown>): Promise<string[]> {
    calls = [];
    recording = kind;
    try {
      await step();
    } finally {
      recording = undefined;
    }
    return calls;
  }

  /** An authorization request for `scope` up to its code (the resume recorded), and the code's exchange. */
  async function signIn(scope: string) {
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
    let callback: URL | undefined;
    const resume = await record('resume', async () => {
      callback = await authorize(t, url, ALICE, cookieJar());
    });
    let tokens: oidc.TokenEndpointResponse | undefined;
    const exchange = await record('token', async () => {
      tokens = await oidc.authorizationCodeGrant(rp, callback!, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    });
    return { resume, exchange, tokens: tokens! };
  }

  test('authorization resume: the interaction, its delete, then the account its login names', async () => {
    const { resume } = await signIn('openid');
    assert.deepEqual(resume, [
      'Interaction.find',
      'Interaction.destroy',
      'findAccount',
      'Grant.find',
      'AuthorizationCode.upsert',
      'Session.upsert',
    ]);
  });

  test('code exchange, session-bound code: the code, its session, its grant, the consume, then its account', async () => {
    const { exchange } = await signIn('openid');
    assert.deepEqual(exchange, [
      'AuthorizationCode.find',
      'Session.findByUid',
      '  takeSession: read ahead',
      'Grant.find',
      '  takeGrant: read ahead',
      'AuthorizationCode.consume',
      'findAccount',
    ]);
  });

  test('code exchange with offline_access: the code, its grant, the consume, its account, then the refresh token', async () => {
    const { exchange } = await signIn('openid offline_access');
    assert.deepEqual(exchange, [
      'AuthorizationCode.find',
      'Grant.find',
      '  takeGrant: read ahead',
      'AuthorizationCode.consume',
      'findAccount',
      'RefreshToken.upsert',
    ]);
  });

  test('refresh: the token, its grant, its account, the consume and the rotated token, then the sid', async () => {
    const { tokens } = await signIn('openid offline_access');
    const refresh = await record('token', () => oidc.refreshTokenGrant(rp, tokens.refresh_token!));
    assert.deepEqual(refresh, [
      'RefreshToken.find',
      'Grant.find',
      '  takeGrant: read ahead',
      'findAccount',
      'RefreshToken.consume',
      'RefreshToken.upsert',
      '  takeSidRevocation: read ahead',
    ]);
  });

  test('client credentials: no adapter lookup, so nothing is read ahead', async () => {
    const made = await record('token', async () => {
      const res = await fetch(`${t.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200, await res.clone().text());
    });
    assert.deepEqual(made, []);
  });
});
