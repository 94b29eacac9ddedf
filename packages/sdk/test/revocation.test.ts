import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createRevocationFeed,
  createVerifier,
  parseRevocation,
  type Revocation,
  SdkError,
} from '../src/index.ts';
import { nowSec, startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

let idp: TestIssuer;
before(async () => {
  idp = await startTestIssuer();
});
after(() => idp.close());

const verifierFor = () => createVerifier({ issuer: idp.issuer, audiences: ['orders'] });

async function revoked(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(
    promise,
    (err: unknown) => err instanceof SdkError && err.code === 'SDK_TOKEN_REVOKED',
  );
}

describe('client and subject revocations', () => {
  it('refuse every token of the client issued before notBefore, cached or not, and none after', async () => {
    const verifier = verifierFor();
    const now = Math.floor(nowSec());
    const cached = await idp.sign({ client_id: 'billing', sub: 'billing', iat: now - 5 });
    await verifier.verifyAccessToken(cached);
    verifier.revoke({ kind: 'client', value: 'billing', notBefore: now, expiresAt: now + 600 });
    await revoked(verifier.verifyAccessToken(cached));
    await revoked(
      verifier.verifyAccessToken(await idp.sign({ client_id: 'billing', sub: 'x', iat: now - 1 })),
    );
    const later = await verifier.verifyAccessToken(
      await idp.sign({ client_id: 'billing', sub: 'billing', iat: now }),
    );
    assert.equal(later.clientId, 'billing');
    const other = await verifier.verifyAccessToken(await idp.sign({ client_id: 'orders', iat: now - 5 }));
    assert.equal(other.clientId, 'orders');
  });

  it('refuse every token of the subject issued before notBefore, whatever its client', async () => {
    const verifier = verifierFor();
    const now = Math.floor(nowSec());
    const cached = await idp.sign({ sub: 'user-7', client_id: 'web', sid: 's1', iat: now - 5 });
    await verifier.verifyAccessToken(cached);
    verifier.revoke({ kind: 'sub', value: 'user-7', notBefore: now, expiresAt: now + 600 });
    await revoked(verifier.verifyAccessToken(cached));
    await revoked(
      verifier.verifyAccessToken(await idp.sign({ sub: 'user-7', client_id: 'cli', iat: now - 2 })),
    );
    const fresh = await verifier.verifyAccessToken(
      await idp.sign({ sub: 'user-7', client_id: 'web', iat: now + 1 }),
    );
    assert.equal(fresh.subject, 'user-7');
  });

  it('a client or subject revocation without notBefore, or a jti one with it, is refused as malformed', () => {
    const verifier = verifierFor();
    const expiresAt = nowSec() + 60;
    for (const bad of [
      { kind: 'client', value: 'billing', expiresAt },
      { kind: 'sub', value: 'u', expiresAt, notBefore: Number.POSITIVE_INFINITY },
      { kind: 'jti', value: 'j', expiresAt, notBefore: 1 },
      { kind: 'everything', value: '*', expiresAt },
      { kind: 'sid', value: 'x'.repeat(513), expiresAt },
    ]) {
      assert.equal(parseRevocation(bad), undefined, JSON.stringify(bad).slice(0, 80));
      assert.throws(() => verifier.revoke(bad as Revocation), TypeError);
    }
  });
});

/** A stand-in for the identity provider's feed: answers what `next` returns, records the cursors asked. */
class FakeFeed {
  readonly asked: string[] = [];
  next: (since: string) => { status: number; body: unknown } = () => ({
    status: 200,
    body: { revocations: [], cursor: '0' },
  });
  #server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const since = new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? '';
      this.asked.push(`${since}:${req.headers.authorization ?? ''}`);
      const { status, body } = this.next(since);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/_gatehouse/revocations`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server!.close(() => resolve()));
  }
}

describe('following the revocation feed', () => {
  it('hands every revocation to the verifier, then asks from the cursor it was given, with its token', async () => {
    const fake = await new FakeFeed().start();
    try {
      const verifier = verifierFor();
      const token = await idp.sign({ jti: 'feed-jti' });
      await verifier.verifyAccessToken(token);
      fake.next = (since) => ({
        status: 200,
        body:
          since === '0'
            ? { revocations: [{ kind: 'jti', value: 'feed-jti', expiresAt: nowSec() + 60 }], cursor: '17' }
            : { revocations: [], cursor: '17' },
      });
      const feed = createRevocationFeed({ url: fake.url, token: 'feed-token', target: () => verifier });
      assert.equal(feed.synced, false);
      assert.equal(await feed.sync(), 1);
      assert.equal(feed.synced, true);
      await revoked(verifier.verifyAccessToken(token));
      assert.equal(await feed.sync(), 0);
      assert.deepEqual(fake.asked, ['0:Bearer feed-token', '17:Bearer feed-token']);
    } finally {
      await fake.close();
    }
  });

  it('refuses a malformed answer whole, keeps its cursor, and is not synced', async () => {
    const fake = await new FakeFeed().start();
    try {
      const seen: Revocation[] = [];
      const feed = createRevocationFeed({ url: fake.url, target: () => ({ revoke: (r) => seen.push(r) }) });
      for (const body of [
        { revocations: [{ kind: 'jti', value: 'a', expiresAt: 1 }, { kind: 'all' }], cursor: '5' },
        { revocations: {}, cursor: '5' },
        { revocations: [], cursor: '-1' },
        { revocations: [], cursor: 5 },
        null,
      ]) {
        fake.next = () => ({ status: 200, body });
        await assert.rejects(feed.sync(), { code: 'SDK_REVOCATION_UNAVAILABLE' });
      }
      fake.next = () => ({ status: 401, body: { error: 'IDP_UNAUTHENTICATED' } });
      await assert.rejects(feed.sync(), { code: 'SDK_REVOCATION_UNAVAILABLE' });
      assert.deepEqual(seen, []);
      assert.equal(feed.synced, false);
      assert.ok(fake.asked.every((a) => a === '0:'));
    } finally {
      await fake.close();
    }
  });

  it('a catch-up asked for while one runs starts after it', async () => {
    const fake = await new FakeFeed().start();
    try {
      let cursor = 0;
      fake.next = () => ({ status: 200, body: { revocations: [], cursor: String(++cursor) } });
      const feed = createRevocationFeed({ url: fake.url, target: () => ({ revoke: () => {} }) });
      await Promise.all([feed.sync(), feed.sync(), feed.sync()]);
      // One running, one queued after it (the third joins the queued one).
      assert.deepEqual(fake.asked, ['0:', '1:']);
    } finally {
      await fake.close();
    }
  });

  it('an identity provider that cannot be reached is SDK_REVOCATION_UNAVAILABLE', async () => {
    const feed = createRevocationFeed({
      url: 'http://127.0.0.1:9/_gatehouse/revocations',
      target: () => ({ revoke: () => {} }),
      timeoutMs: 500,
    });
    await assert.rejects(feed.sync(), { code: 'SDK_REVOCATION_UNAVAILABLE' });
  });
});
