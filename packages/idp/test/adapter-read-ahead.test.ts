import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import {
  openTestSql,
  openTestState,
  skipUnlessService,
  type TestSql,
  type TestState,
} from '@gatehouse/core/testing';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { idpMigrations } from '../src/index.ts';
import { createRevocationPublisher } from '../src/revocation/revocation-publisher.ts';
import { createAdapterClass } from '../src/storage/adapter.ts';
import { createGrantRevoker } from '../src/storage/grant-revoker.ts';
import { unitOfWorkMiddleware } from '../src/storage/unit-of-work-middleware.ts';
import { ALICE } from './idp-harness.ts';

// The adapter's read-ahead counts on the order in which oidc-provider looks things up in a token
// request (adapter.ts; oidc-provider-pin-call-order.test.ts records it). Here the adapter is called in
// other orders, inside a token request's unit of work: every answer is the one a plain read gives at
// that point.
for (const kind of ['pglite', 'postgres'] as const)
  describe(`the adapter's read-ahead in another call order [${kind}]`, {
    timeout: 60_000,
    skip: await skipUnlessService(kind),
  }, () => {
    let db: TestSql;
    let st: TestState;
    let Adapter: ReturnType<typeof createAdapterClass>;
    let middleware: ReturnType<typeof unitOfWorkMiddleware>;

    before(async () => {
      db = await openTestSql(kind, { migrations: [idpMigrations] });
      st = await openTestState('memory');
      const revocations = createRevocationPublisher({ sql: db.sql, state: st.state, logger: silentLogger() });
      Adapter = createAdapterClass({
        sql: db.sql,
        grants: createGrantRevoker(db.sql, revocations),
        logger: silentLogger(),
      });
      middleware = unitOfWorkMiddleware({
        sql: db.sql,
        logger: silentLogger(),
        tokenPath: '/token',
        resumePath: /^\/auth\/[^/]+$/,
      });
    });
    after(async () => {
      await st?.cleanup();
      await db?.cleanup();
    });

    /** `steps` inside a token request (POST /token) that answers 200. */
    async function inTokenRequest(steps: () => Promise<void>): Promise<void> {
      const ctx = { method: 'POST', path: '/token', status: 404, body: undefined, set() {} };
      await middleware(ctx as unknown as KoaContextWithOIDC, async () => {
        await steps();
        ctx.status = 200;
      });
    }

    const grantPayload = { accountId: ALICE, clientId: 'demo-app' };

    /** A grant, a browser session (uid `uid`) and a refresh token of both. */
    async function seed(name: string) {
      const ids = { grant: `g-${name}`, session: `s-${name}`, uid: `u-${name}`, token: `rt-${name}` };
      await new Adapter('Grant').upsert(ids.grant, grantPayload, 600);
      await new Adapter('Session').upsert(ids.session, { uid: ids.uid, accountId: ALICE }, 600);
      await new Adapter('RefreshToken').upsert(
        ids.token,
        { grantId: ids.grant, accountId: ALICE, sessionUid: ids.uid },
        600,
      );
      return ids;
    }

    test('a grant looked up before its token is read from SQL, and again after a write of it', async () => {
      const ids = await seed('grant-first');
      await inTokenRequest(async () => {
        assert.deepEqual(await new Adapter('Grant').find(ids.grant), grantPayload);
        await new Adapter('RefreshToken').find(ids.token);
        const changed = { ...grantPayload, rar: 'changed' };
        await new Adapter('Grant').upsert(ids.grant, changed, 600);
        assert.deepEqual(await new Adapter('Grant').find(ids.grant), changed);
      });
    });

    test('a grant destroyed between its token lookup and its own is not found', async () => {
      // oidc-provider's revocation of a grant destroys it this way.
      const ids = await seed('grant-destroyed');
      await inTokenRequest(async () => {
        await new Adapter('RefreshToken').find(ids.token);
        await new Adapter('Grant').destroy(ids.grant);
        assert.equal(await new Adapter('Grant').find(ids.grant), undefined);
      });
    });

    test('a session written or destroyed after its token lookup is read from SQL', async () => {
      const ids = await seed('session-written');
      await inTokenRequest(async () => {
        await new Adapter('RefreshToken').find(ids.token);
        const changed = { uid: ids.uid, accountId: ALICE, loginTs: 1 };
        await new Adapter('Session').upsert(ids.session, changed, 600);
        assert.deepEqual(await new Adapter('Session').findByUid(ids.uid), changed);
        await new Adapter('RefreshToken').find(ids.token);
        await new Adapter('Session').destroy(ids.session);
        assert.equal(await new Adapter('Session').findByUid(ids.uid), undefined);
      });
    });

    test('a session looked up before its token is read from SQL; the token brings it again for the next lookup', async () => {
      const ids = await seed('session-first');
      await inTokenRequest(async () => {
        assert.deepEqual(await new Adapter('Session').findByUid(ids.uid), { uid: ids.uid, accountId: ALICE });
        await new Adapter('RefreshToken').find(ids.token);
        assert.deepEqual(await new Adapter('Session').findByUid(ids.uid), { uid: ids.uid, accountId: ALICE });
      });
    });

    test('lookups of another grant or session than the token’s are read from SQL', async () => {
      const mine = await seed('mine');
      const other = await seed('other');
      await new Adapter('Grant').upsert(other.grant, { ...grantPayload, clientId: 'other-app' }, 600);
      await inTokenRequest(async () => {
        await new Adapter('RefreshToken').find(mine.token);
        assert.deepEqual(await new Adapter('Grant').find(other.grant), {
          ...grantPayload,
          clientId: 'other-app',
        });
        assert.deepEqual(await new Adapter('Session').findByUid(other.uid), {
          uid: other.uid,
          accountId: ALICE,
        });
        assert.deepEqual(await new Adapter('Grant').find(mine.grant), grantPayload);
      });
    });

    test('a token looked up twice is read twice: the grant comes from the latest read', async () => {
      const ids = await seed('token-twice');
      await inTokenRequest(async () => {
        await new Adapter('RefreshToken').find(ids.token);
        await new Adapter('Grant').destroy(ids.grant);
        await new Adapter('RefreshToken').find(ids.token);
        assert.equal(await new Adapter('Grant').find(ids.grant), undefined);
      });
    });
  });
