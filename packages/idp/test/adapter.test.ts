import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import {
  openTestSql,
  openTestState,
  skipUnlessService,
  type TestSql,
  type TestState,
} from '@gatehouse/core/testing';
import { idpMigrations } from '../src/index.ts';
import { createRevocationPublisher, revokedKey } from '../src/revocation/revocation-publisher.ts';
import { createAdapterClass } from '../src/storage/adapter.ts';
import { createGrantRevoker } from '../src/storage/grant-revoker.ts';
import { recordJwtAccessToken } from '../src/storage/jwt-access-tokens.ts';
import { sweepExpired } from '../src/storage/sweep-expired.ts';

// The oidc-provider storage port, run against both SQL drivers.
for (const kind of ['pglite', 'postgres'] as const) {
  describe(`oidc-provider adapter [${kind}]`, { skip: await skipUnlessService(kind) }, () => {
    let db: TestSql;
    let st: TestState;
    let Adapter: ReturnType<typeof createAdapterClass>;

    before(async () => {
      db = await openTestSql(kind, { migrations: [idpMigrations] });
      st = await openTestState('memory');
      const revocations = createRevocationPublisher({ sql: db.sql, state: st.state, logger: silentLogger() });
      Adapter = createAdapterClass({
        sql: db.sql,
        grants: createGrantRevoker(db.sql, revocations),
        logger: silentLogger(),
      });
    });
    after(async () => {
      await st?.cleanup();
      await db?.cleanup();
    });
    beforeEach(async () => {
      await db.sql.query('delete from idp_oidc_models');
    });

    test('upsert then find returns the payload; upsert again replaces it', async () => {
      const a = new Adapter('Session');
      await a.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 60);
      assert.deepEqual(await a.find('s1'), { jti: 's1', uid: 'u1', accountId: 'alice' });
      await a.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'bob' }, 60);
      assert.deepEqual(await a.find('s1'), { jti: 's1', uid: 'u1', accountId: 'bob' });
    });

    test('models are kept apart: the same id in another model is not found', async () => {
      await new Adapter('Session').upsert('same', { jti: 'same' }, 60);
      assert.equal(await new Adapter('Interaction').find('same'), undefined);
    });

    test('an expired entry is not found', async () => {
      const a = new Adapter('Interaction');
      await a.upsert('gone', { jti: 'gone' }, 60);
      await db.sql.query(
        `update idp_oidc_models set expires_at = now() - interval '1 second' where id = 'gone'`,
      );
      assert.equal(await a.find('gone'), undefined);
      await sweepExpired(db.sql);
      assert.deepEqual(await db.sql.query(`select id from idp_oidc_models where id = 'gone'`), []);
    });

    test('findByUid and findByUserCode find by their columns', async () => {
      await new Adapter('Session').upsert('s2', { jti: 's2', uid: 'uid-2' }, 60);
      assert.equal((await new Adapter('Session').findByUid('uid-2'))?.['jti'], 's2');
      await new Adapter('DeviceCode').upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH' }, 60);
      assert.equal((await new Adapter('DeviceCode').findByUserCode('ABCD-EFGH'))?.['jti'], 'd1');
      assert.equal(await new Adapter('DeviceCode').findByUserCode('ZZZZ-ZZZZ'), undefined);
    });

    test('consume marks the entry consumed, with the time in seconds', async () => {
      const a = new Adapter('AuthorizationCode');
      await a.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
      await a.consume('c1');
      const found = await a.find('c1');
      assert.equal(typeof found?.consumed, 'number');
      assert.ok(Math.abs((found!.consumed as number) - Date.now() / 1000) < 60);
    });

    test('a second consume fails with invalid_grant and revokes the grant', async () => {
      const code = new Adapter('AuthorizationCode');
      await new Adapter('Grant').upsert('g2', { jti: 'g2', accountId: 'alice', clientId: 'app' }, 60);
      await code.upsert('c2', { jti: 'c2', grantId: 'g2' }, 60);
      await new Adapter('RefreshToken').upsert('r2', { jti: 'r2', grantId: 'g2' }, 60);
      await code.consume('c2');
      await assert.rejects(code.consume('c2'), (err: { error?: string; error_detail?: string }) => {
        assert.equal(err.error, 'invalid_grant');
        assert.equal(err.error_detail, 'authorization code already consumed');
        return true;
      });
      assert.equal(await new Adapter('RefreshToken').find('r2'), undefined);
      assert.equal(await new Adapter('Grant').find('g2'), undefined);
    });

    test('of two concurrent consumes exactly one succeeds', async () => {
      const code = new Adapter('AuthorizationCode');
      await code.upsert('c3', { jti: 'c3', grantId: 'g3' }, 60);
      const results = await Promise.allSettled([code.consume('c3'), code.consume('c3')]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    });

    test('destroy removes one entry', async () => {
      const a = new Adapter('Session');
      await a.upsert('s3', { jti: 's3' }, 60);
      await a.destroy('s3');
      assert.equal(await a.find('s3'), undefined);
    });

    test('revokeByGrantId removes that model’s entries of the grant only', async () => {
      await new Adapter('Grant').upsert('g4', { jti: 'g4' }, 60);
      await new Adapter('Grant').upsert('g5', { jti: 'g5' }, 60);
      await new Adapter('RefreshToken').upsert('r4', { jti: 'r4', grantId: 'g4' }, 60);
      await new Adapter('RefreshToken').upsert('r5', { jti: 'r5', grantId: 'g5' }, 60);
      await new Adapter('AuthorizationCode').upsert('c4', { jti: 'c4', grantId: 'g4' }, 60);
      await new Adapter('RefreshToken').revokeByGrantId('g4');
      assert.equal(await new Adapter('RefreshToken').find('r4'), undefined);
      assert.notEqual(await new Adapter('RefreshToken').find('r5'), undefined);
      assert.notEqual(await new Adapter('AuthorizationCode').find('c4'), undefined);
    });

    test('revoking a grant’s access tokens revokes its recorded JWTs and fans them out', async () => {
      await new Adapter('Grant').upsert('g6', { jti: 'g6' }, 60);
      const exp = Math.floor(Date.now() / 1000) + 300;
      await recordJwtAccessToken(db.sql, { jti: 'jwt-6', grantId: 'g6', clientId: 'app', exp });
      await new Adapter('AccessToken').revokeByGrantId('g6');
      const rows = await db.sql.query<{ kind: string; value: string }>(
        `select kind, value from idp_revocations where value = 'jwt-6'`,
      );
      assert.deepEqual(rows, [{ kind: 'jti', value: 'jwt-6' }]);
      assert.equal(await st.state.get(revokedKey('jti', 'jwt-6')), '1');
    });

    test('a JWT for a grant that no longer exists is refused', async () => {
      const exp = Math.floor(Date.now() / 1000) + 300;
      await assert.rejects(
        recordJwtAccessToken(db.sql, { jti: 'jwt-7', grantId: 'no-grant', clientId: 'app', exp }),
        {
          error: 'invalid_grant',
        },
      );
    });

    test('a refresh token is not stored for a grant that no longer exists', async () => {
      await assert.rejects(new Adapter('RefreshToken').upsert('r8', { jti: 'r8', grantId: 'no-grant' }, 60), {
        error: 'invalid_grant',
      });
    });
  });
}
