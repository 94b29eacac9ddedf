import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Sql, silentLogger } from '@gatehouse/core';
import {
  openTestSql,
  openTestState,
  skipUnlessService,
  type TestSql,
  type TestState,
} from '@gatehouse/core/testing';
import type { KoaContextWithOIDC } from 'oidc-provider';
import * as oidc from 'openid-client';
import { createAdapterClass, createGrantRevoker, recordJwtAccessToken } from '../src/adapter.ts';
import { createAudit } from '../src/audit.ts';
import { idpMigrations } from '../src/index.ts';
import { createRevocationPublisher } from '../src/revocation-publisher.ts';
import { deferAuditWrite, tokenWriteBatchMiddleware } from '../src/write-batch.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';
const isWrite = (text: string) => /^\s*(insert|update|delete|with)\b/i.test(text);

/** The SQL layer, counting transactions and the writes run outside one. */
function countingSql(sql: Sql) {
  const counts = { transactions: 0, directWrites: [] as string[], on: false };
  const proxy = new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (text: string, params?: unknown[]) => {
          if (counts.on && isWrite(text)) counts.directWrites.push(text.split('\n')[0]!.trim());
          return target.query(text, params);
        };
      }
      if (prop === 'transaction') {
        return (fn: Parameters<Sql['transaction']>[0]) => {
          if (counts.on) counts.transactions++;
          return target.transaction(fn);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { sql: proxy, counts };
}

describe('a refresh commits once', { timeout: 60_000 }, () => {
  let db: TestSql;
  let t: TestIdp;
  let counting: ReturnType<typeof countingSql>;

  before(async () => {
    db = await openTestSql('pglite', { migrations: [idpMigrations] });
    counting = countingSql(db.sql);
    t = await startIdp({ sql: counting.sql });
  });
  after(async () => {
    await t?.stop();
    await db?.cleanup();
  });

  async function login() {
    const rp = await oidc.discovery(new URL(t.issuer), 'demo-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await authorize(t, url, ALICE, cookieJar());
    const tokens = await oidc.authorizationCodeGrant(rp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { rp, tokens };
  }

  test('a refresh stores its writes (consume, rotated token, JWT record, audit) in one statement', async () => {
    const { rp, tokens } = await login();
    counting.counts.on = true;
    try {
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
      assert.equal(typeof refreshed.refresh_token, 'string');
    } finally {
      counting.counts.on = false;
    }
    assert.equal(counting.counts.transactions, 0);
    assert.deepEqual(counting.counts.directWrites, [
      'with w0 as (update idp_oidc_models set consumed_at = now() where model = $1 and id = $2 and consumed_at is null returning id),',
    ]);
    const rotated = await db.sql.query<{ n: number }>(
      `select count(*)::int as n from idp_oidc_models where model = 'RefreshToken' and consumed_at is not null`,
    );
    assert.equal(rotated[0]!.n >= 1, true);
    const issued = await createAudit(db.sql).query({ type: 'token.issued', subject: ALICE, limit: 500 });
    assert.equal(issued.filter((e) => e.details['grantType'] === 'refresh_token').length, 1);
  });

  test('two refreshes of the same token at once: one answer, then the grant is revoked', async () => {
    const { rp, tokens } = await login();
    const results = await Promise.allSettled([
      oidc.refreshTokenGrant(rp, tokens.refresh_token!),
      oidc.refreshTokenGrant(rp, tokens.refresh_token!),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.equal(((lost[0] as PromiseRejectedResult).reason as { error?: string }).error, 'invalid_grant');
    const winner = (won[0] as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
    await assert.rejects(oidc.refreshTokenGrant(rp, winner.refresh_token!), { error: 'invalid_grant' });
    assert.deepEqual(await oidc.tokenIntrospection(rp, winner.access_token), { active: false });
  });
});

for (const kind of ['pglite', 'postgres'] as const)
  describe(`the token-request write batch [${kind}]`, {
    timeout: 60_000,
    skip: await skipUnlessService(kind),
  }, () => {
    let db: TestSql;
    let st: TestState;
    let Adapter: ReturnType<typeof createAdapterClass>;
    let middleware: ReturnType<typeof tokenWriteBatchMiddleware>;

    before(async () => {
      db = await openTestSql(kind, { migrations: [idpMigrations] });
      st = await openTestState('memory');
      const revocations = createRevocationPublisher({ sql: db.sql, state: st.state, logger: silentLogger() });
      Adapter = createAdapterClass({
        sql: db.sql,
        grants: createGrantRevoker(db.sql, revocations),
        logger: silentLogger(),
      });
      middleware = tokenWriteBatchMiddleware({ sql: db.sql, logger: silentLogger(), tokenPath: '/token' });
    });
    after(async () => {
      await st?.cleanup();
      await db?.cleanup();
    });

    function fakeCtx() {
      const headers: Record<string, string> = {};
      return {
        method: 'POST',
        path: '/token',
        status: 404,
        body: undefined as unknown,
        headers,
        set(name: string, value: string) {
          headers[name] = value;
        },
      };
    }
    const run = (ctx: ReturnType<typeof fakeCtx>, next: () => Promise<unknown>) =>
      middleware(ctx as unknown as KoaContextWithOIDC, next);

    async function seedGrant(grantId: string, rt: string, consumed: boolean) {
      await new Adapter('Grant').upsert(grantId, { accountId: ALICE, clientId: 'demo-app' }, 600);
      await new Adapter('RefreshToken').upsert(rt, { grantId, accountId: ALICE }, 600);
      if (consumed) await new Adapter('RefreshToken').consume(rt);
    }
    const exists = async (model: string, id: string) =>
      (await db.sql.query('select 1 from idp_oidc_models where model = $1 and id = $2', [model, id]))
        .length === 1;
    const jwtRecorded = async (jti: string) =>
      (await db.sql.query('select 1 from idp_jwt_access_tokens where jti = $1', [jti])).length === 1;

    test('a refresh token consumed by another request meanwhile: invalid_grant, nothing stored, grant revoked', async () => {
      await seedGrant('g-lost', 'rt-lost', true);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-lost');
        await new Adapter('RefreshToken').upsert(
          'rt-lost-next',
          { grantId: 'g-lost', accountId: ALICE },
          600,
        );
        await recordJwtAccessToken(db.sql, {
          jti: 'jti-lost',
          grantId: 'g-lost',
          clientId: 'demo-app',
          exp: 4e9,
        });
        ctx.status = 200;
        ctx.body = { access_token: 'x' };
      });
      assert.equal(ctx.status, 400);
      assert.deepEqual(ctx.body, { error: 'invalid_grant', error_description: 'grant request is invalid' });
      assert.equal(ctx.headers['cache-control'], 'no-store');
      assert.equal(await exists('RefreshToken', 'rt-lost-next'), false);
      assert.equal(await jwtRecorded('jti-lost'), false);
      assert.equal(await exists('Grant', 'g-lost'), false);
    });

    test('writes of a successful request are all stored when it answers', async () => {
      await seedGrant('g-ok', 'rt-ok', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-ok');
        await new Adapter('RefreshToken').upsert('rt-ok-next', { grantId: 'g-ok', accountId: ALICE }, 600);
        await recordJwtAccessToken(db.sql, {
          jti: 'jti-ok',
          grantId: 'g-ok',
          clientId: 'demo-app',
          exp: 4e9,
        });
        // Deferred: nothing is visible before the request answers.
        assert.equal(await exists('RefreshToken', 'rt-ok-next'), false);
        ctx.status = 200;
        ctx.body = { access_token: 'x' };
      });
      assert.equal(ctx.status, 200);
      assert.equal(await exists('RefreshToken', 'rt-ok-next'), true);
      assert.equal(await jwtRecorded('jti-ok'), true);
      const consumed = await db.sql.query<{ consumed_at: Date | null }>(
        `select consumed_at from idp_oidc_models where model = 'RefreshToken' and id = 'rt-ok'`,
      );
      assert.notEqual(consumed[0]!.consumed_at, null);
    });

    test('an error answer stores its audit events but none of its protocol writes', async () => {
      await seedGrant('g-err', 'rt-err', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-err');
        await createAudit(db.sql).record({ type: 'refresh.reuse_detected', subject: 'batch-err-subject' });
        ctx.status = 400;
        ctx.body = { error: 'invalid_scope' };
      });
      assert.equal(ctx.status, 400);
      const row = await db.sql.query<{ consumed_at: Date | null }>(
        `select consumed_at from idp_oidc_models where model = 'RefreshToken' and id = 'rt-err'`,
      );
      assert.equal(row[0]!.consumed_at, null);
      const events = await createAudit(db.sql).query({ subject: 'batch-err-subject' });
      assert.equal(events.length, 1);
    });

    test('a grant revoked before the commit refuses the rotated token with invalid_grant', async () => {
      await seedGrant('g-gone', 'rt-gone', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-gone');
        await new Adapter('RefreshToken').upsert(
          'rt-gone-next',
          { grantId: 'g-gone', accountId: ALICE },
          600,
        );
        await db.sql.query(`delete from idp_oidc_models where model = 'Grant' and id = 'g-gone'`);
        ctx.status = 200;
        ctx.body = { access_token: 'x' };
      });
      assert.equal(ctx.status, 400);
      assert.equal((ctx.body as { error: string }).error, 'invalid_grant');
      assert.equal(await exists('RefreshToken', 'rt-gone-next'), false);
    });

    test('an audit insert that fails does not fail the request or its protocol writes', async () => {
      await seedGrant('g-audit', 'rt-audit', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-audit');
        assert.equal(
          deferAuditWrite({ text: 'insert into no_such_audit_table values ($1)', params: [1] }),
          true,
        );
        ctx.status = 200;
        ctx.body = { access_token: 'x' };
      });
      assert.equal(ctx.status, 200);
      const row = await db.sql.query<{ consumed_at: Date | null }>(
        `select consumed_at from idp_oidc_models where model = 'RefreshToken' and id = 'rt-audit'`,
      );
      assert.notEqual(row[0]!.consumed_at, null);
    });

    test('requests to other endpoints write at once', async () => {
      await seedGrant('g-other', 'rt-other', false);
      const ctx = { ...fakeCtx(), path: '/token/introspection' };
      await run(ctx, async () => {
        await new Adapter('RefreshToken').consume('rt-other');
        const row = await db.sql.query<{ consumed_at: Date | null }>(
          `select consumed_at from idp_oidc_models where model = 'RefreshToken' and id = 'rt-other'`,
        );
        assert.notEqual(row[0]!.consumed_at, null);
        ctx.status = 200;
      });
    });
  });
