import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REVOCATIONS_FEED_PATH } from '@gatehouse/core';
import { startIdp, type TestIdp } from './idp-harness.ts';

const FEED_TOKEN = 'feed-token-feed-token-feed-token-0123';

interface Page {
  revocations: Array<{ kind: string; value: string; expiresAt: number; notBefore?: number }>;
  cursor: string;
}

describe('the durable revocation feed', () => {
  let t: TestIdp;
  const feed = (query = '', headers: Record<string, string> = { authorization: `Bearer ${FEED_TOKEN}` }) =>
    fetch(`${t.origin}${REVOCATIONS_FEED_PATH}${query}`, { headers });
  const later = () => Math.floor(Date.now() / 1000) + 600;

  before(async () => {
    t = await startIdp({ config: { revocationFeedToken: FEED_TOKEN } });
  });
  after(() => t?.close());

  test('lists every live revocation in order, with a cursor that moves past them', async () => {
    const exp = later();
    await t.idp.revocations.revoke([
      { kind: 'jti', value: 'feed-jti-1', expiresAt: exp },
      { kind: 'sid', value: 'feed-sid-1', expiresAt: exp },
      { kind: 'client', value: 'feed-client', expiresAt: exp, notBefore: exp - 600 },
    ]);
    const res = await feed();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const page = (await res.json()) as Page;
    assert.deepEqual(
      page.revocations.filter((r) => r.value.startsWith('feed-')),
      [
        { kind: 'jti', value: 'feed-jti-1', expiresAt: exp },
        { kind: 'sid', value: 'feed-sid-1', expiresAt: exp },
        { kind: 'client', value: 'feed-client', expiresAt: exp, notBefore: exp - 600 },
      ],
    );
    assert.match(page.cursor, /^\d+$/);

    await t.idp.revocations.revoke([
      { kind: 'sub', value: 'feed-sub', expiresAt: exp, notBefore: exp - 300 },
    ]);
    const next = (await (await feed(`?since=${page.cursor}`)).json()) as Page;
    assert.ok(BigInt(next.cursor) > BigInt(page.cursor));
    assert.deepEqual(next.revocations.at(-1), {
      kind: 'sub',
      value: 'feed-sub',
      expiresAt: exp,
      notBefore: exp - 300,
    });
  });

  test('past the overlap window, a cursor leaves out what came before it', async () => {
    await t.idp.revocations.revoke([{ kind: 'jti', value: 'feed-old', expiresAt: later() }]);
    await t.sql.query(`update idp_revocations set revoked_at = now() - interval '1 hour'`);
    const { cursor } = (await (await feed()).json()) as Page;
    const page = (await (await feed(`?since=${cursor}`)).json()) as Page;
    assert.deepEqual(page, { revocations: [], cursor });
  });

  test('leaves out expired revocations', async () => {
    await t.idp.revocations.revoke([{ kind: 'jti', value: 'feed-expiring', expiresAt: later() }]);
    await t.sql.query(
      `update idp_revocations set expires_at = now() - interval '1 second' where value = 'feed-expiring'`,
    );
    const page = (await (await feed()).json()) as Page;
    assert.equal(page.revocations.filter((r) => r.value === 'feed-expiring').length, 0);
  });

  test('refuses a request without its bearer token with 401 IDP_UNAUTHENTICATED', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${FEED_TOKEN}` },
    ]) {
      const res = await feed('', headers);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'IDP_UNAUTHENTICATED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="gatehouse-revocations"/);
    }
  });

  test('refuses a cursor it did not give and unknown parameters with 400', async () => {
    for (const [query, code] of [
      ['?since=-1', 'IDP_FIELD_INVALID'],
      ['?since=abc', 'IDP_FIELD_INVALID'],
      ['?since=1&since=2', 'IDP_FIELD_INVALID'],
      ['?since=1234567890123456789', 'IDP_FIELD_INVALID'],
      ['?limit=5', 'IDP_FIELD_UNKNOWN'],
    ] as const) {
      const res = await feed(query);
      assert.equal(res.status, 400, query);
      assert.equal(((await res.json()) as { error: string }).error, code, query);
    }
  });

  test('answers only GET', async () => {
    const res = await fetch(`${t.origin}${REVOCATIONS_FEED_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FEED_TOKEN}` },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });
});
