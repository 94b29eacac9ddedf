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
import * as oidc from 'openid-client';
import { createAudit } from '../src/audit/audit.ts';
import { idpMigrations } from '../src/index.ts';
import { createRevocationPublisher } from '../src/revocation/revocation-publisher.ts';
import { createAdapterClass } from '../src/storage/adapter.ts';
import { createGrantRevoker } from '../src/storage/grant-revoker.ts';
import { recordJwtAccessToken } from '../src/storage/jwt-access-tokens.ts';
import type { BatchedWrite } from '../src/storage/one-statement.ts';
import { currentUnitOfWork } from '../src/storage/unit-of-work.ts';
import { unitOfWorkMiddleware } from '../src/storage/unit-of-work-middleware.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';
import { recordingSql } from './recording-sql.ts';

const REDIRECT = 'http://localhost:8080/callback';
const isWrite = (text: string) => /^\s*(insert|update|delete|with)\b/i.test(text);
/** What the token request's unit of work read ahead for `sid` (undefined outside a token request). */
const takeSidRevocation = (sid: string) => currentUnitOfWork()?.takeSidRevocation(sid);
/** An audit insert queued in the current request's unit of work; false outside one. */
const deferAuditWrite = (write: BatchedWrite) => currentUnitOfWork()?.deferAudit(write) ?? false;

describe('a refresh commits once', { timeout: 60_000 }, () => {
  let db: TestSql;
  let t: TestIdp;
  let counting: ReturnType<typeof recordingSql>;

  before(async () => {
    db = await openTestSql('pglite', { migrations: [idpMigrations] });
    counting = recordingSql(db.sql);
    t = await startIdp({ sql: counting.proxy });
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
    counting.seen.on = true;
    try {
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
      assert.equal(typeof refreshed.refresh_token, 'string');
    } finally {
      counting.seen.on = false;
    }
    assert.equal(counting.seen.transactions, 0);
    assert.deepEqual(
      counting.seen.texts.filter(isWrite).map((text) => text.split('\n')[0]!.trim()),
      [
        'with w0 as (update idp_oidc_models set consumed_at = now() where model = $1 and id = $2 and consumed_at is null returning id),',
      ],
    );
    const rotated = await db.sql.query<{ n: number }>(
      `select count(*)::int as n from idp_oidc_models where model = 'RefreshToken' and consumed_at is not null`,
    );
    assert.equal(rotated[0]!.n >= 1, true);
    const issued = await createAudit(db.sql).query({ type: 'token.issued', subject: ALICE, limit: 500 });
    assert.equal(issued.filter((e) => e.details['grantType'] === 'refresh_token').length, 1);
  });

  test('a refresh reads its token, grant and sid revocation in one statement, then writes once; the account is looked up once', async () => {
    const { rp, tokens } = await login();
    const findAccount = t.accounts.findAccount;
    let accountLookups = 0;
    t.accounts.findAccount = (...args) => {
      accountLookups++;
      return findAccount(...args);
    };
    counting.seen.statements = [];
    counting.seen.on = true;
    try {
      const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
      assert.equal(typeof refreshed.refresh_token, 'string');
      assert.deepEqual(refreshed.claims()?.sub, ALICE);
    } finally {
      counting.seen.on = false;
      t.accounts.findAccount = findAccount;
    }
    const statements = counting.seen.statements;
    // The grant comes from a browser session: whether its sid was revoked is read with the token too.
    assert.deepEqual(statements, ['select r.i, t.payload, t.consumed_at,', 'with w0 as (update']);
    assert.equal(accountLookups, 1);
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

    test('a token read in a token request brings its grant, handed out once; later lookups read SQL', async () => {
      await seedGrant('g-ahead', 'rt-ahead', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        const rt = await new Adapter('RefreshToken').find('rt-ahead');
        assert.equal(rt?.grantId, 'g-ahead');
        // Deleted after the read: the grant read ahead is still the one of this request's first lookup...
        await db.sql.query(`delete from idp_oidc_models where model = 'Grant' and id = 'g-ahead'`);
        assert.deepEqual(await new Adapter('Grant').find('g-ahead'), {
          accountId: ALICE,
          clientId: 'demo-app',
        });
        // ...but only once: the next lookup reads SQL and finds it gone.
        assert.equal(await new Adapter('Grant').find('g-ahead'), undefined);
        ctx.status = 200;
      });
    });

    test('a grant deleted after the read-ahead still refuses the rotated token at commit', async () => {
      await seedGrant('g-ahead-gone', 'rt-ahead-gone', false);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        await new Adapter('RefreshToken').find('rt-ahead-gone');
        await db.sql.query(`delete from idp_oidc_models where model = 'Grant' and id = 'g-ahead-gone'`);
        assert.notEqual(await new Adapter('Grant').find('g-ahead-gone'), undefined);
        await new Adapter('RefreshToken').consume('rt-ahead-gone');
        await new Adapter('RefreshToken').upsert(
          'rt-ahead-gone-next',
          { grantId: 'g-ahead-gone', accountId: ALICE },
          600,
        );
        ctx.status = 200;
        ctx.body = { access_token: 'x' };
      });
      assert.equal(ctx.status, 400);
      assert.equal((ctx.body as { error: string }).error, 'invalid_grant');
      assert.equal(await exists('RefreshToken', 'rt-ahead-gone-next'), false);
    });

    test('a grant expired or missing when its token is read is not found through the read-ahead', async () => {
      // A refresh token is never stored without its grant; this row plays one whose grant was deleted.
      await db.sql.query(
        `insert into idp_oidc_models (model, id, payload, grant_id, expires_at)
         values ('RefreshToken', 'rt-orphan', $1::jsonb, 'g-never', now() + interval '10 minutes')`,
        [JSON.stringify({ grantId: 'g-never', accountId: ALICE })],
      );
      await seedGrant('g-expired', 'rt-expired-grant', false);
      await db.sql.query(
        `update idp_oidc_models set expires_at = now() - interval '1 second' where model = 'Grant' and id = 'g-expired'`,
      );
      const ctx = fakeCtx();
      await run(ctx, async () => {
        assert.notEqual(await new Adapter('RefreshToken').find('rt-orphan'), undefined);
        assert.equal(await new Adapter('Grant').find('g-never'), undefined);
        assert.notEqual(await new Adapter('RefreshToken').find('rt-expired-grant'), undefined);
        assert.equal(await new Adapter('Grant').find('g-expired'), undefined);
        ctx.status = 200;
      });
    });

    test('a refresh token read in a token request brings whether its session was revoked, handed out once', async () => {
      await new Adapter('Grant').upsert('g-sid', { accountId: ALICE, clientId: 'demo-app' }, 600);
      for (const [rt, sid] of [
        ['rt-sid-live', `sid-live-${kind}`],
        ['rt-sid-revoked', `sid-revoked-${kind}`],
      ] as const)
        await new Adapter('RefreshToken').upsert(
          rt,
          { grantId: 'g-sid', accountId: ALICE, sessionUid: sid },
          600,
        );
      await db.sql.query(
        `insert into idp_revocations (kind, value, expires_at) values ('sid', $1, now() + interval '10 minutes')`,
        [`sid-revoked-${kind}`],
      );
      assert.equal(takeSidRevocation(`sid-revoked-${kind}`), undefined); // outside a token request
      const ctx = fakeCtx();
      await run(ctx, async () => {
        assert.equal(takeSidRevocation(`sid-live-${kind}`), undefined); // not read yet
        await new Adapter('RefreshToken').find('rt-sid-live');
        await new Adapter('RefreshToken').find('rt-sid-revoked');
        assert.equal(takeSidRevocation(`sid-live-${kind}`), false);
        assert.equal(takeSidRevocation(`sid-revoked-${kind}`), true);
        // Once: a second question goes to the revocation store.
        assert.equal(takeSidRevocation(`sid-revoked-${kind}`), undefined);
        ctx.status = 200;
      });
    });

    test('refresh tokens read by concurrent token requests share statements; each request gets its own rows', async () => {
      const reads: string[] = [];
      const counted = new Proxy(db.sql, {
        get(target, prop) {
          if (prop === 'query')
            return (text: string, params?: unknown[]) => {
              if (/unnest\(\$2::text\[\]\)/.test(text)) reads.push(text);
              return target.query(text, params);
            };
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const revocations = createRevocationPublisher({ sql: db.sql, state: st.state, logger: silentLogger() });
      const Grouped = createAdapterClass({
        sql: counted,
        grants: createGrantRevoker(db.sql, revocations),
        logger: silentLogger(),
      });
      for (const n of [1, 2, 3]) await seedGrant(`g-group-${n}`, `rt-group-${n}`, n === 3);
      const ids = ['rt-group-1', 'rt-group-2', 'rt-group-1', 'rt-group-3', 'rt-group-missing'];
      const results = await Promise.all(
        ids.map(async (id) => {
          const ctx = fakeCtx();
          let found: { token?: Record<string, unknown>; grant?: Record<string, unknown> } = {};
          await run(ctx, async () => {
            const token = await new Grouped('RefreshToken').find(id);
            const grant = token && (await new Grouped('Grant').find(token.grantId!));
            found = { ...(token ? { token } : {}), ...(grant ? { grant } : {}) };
            ctx.status = 200;
          });
          return found;
        }),
      );
      assert.equal(reads.length < ids.length, true, `${reads.length} reads`);
      assert.equal(results[0]!.token?.['grantId'], 'g-group-1');
      assert.equal(results[1]!.token?.['grantId'], 'g-group-2');
      assert.equal(results[2]!.token?.['grantId'], 'g-group-1');
      assert.notEqual(results[0]!.token, results[2]!.token); // the same token read twice: two objects
      assert.equal(results[0]!.token?.['consumed'], undefined);
      assert.equal(typeof results[3]!.token?.['consumed'], 'number');
      assert.deepEqual(results[3]!.grant, { accountId: ALICE, clientId: 'demo-app' });
      assert.deepEqual(results[4], {});
    });

    test('a consumed token read with its grant still reports when it was consumed', async () => {
      await seedGrant('g-used', 'rt-used', true);
      const ctx = fakeCtx();
      await run(ctx, async () => {
        const rt = await new Adapter('RefreshToken').find('rt-used');
        assert.equal(typeof rt?.consumed, 'number');
        ctx.status = 200;
      });
    });

    test('requests with audit events only share statements; each answers once its events are stored', async () => {
      const statements: string[] = [];
      const counted = new Proxy(db.sql, {
        get(target, prop) {
          if (prop === 'query')
            return (text: string, params?: unknown[]) => {
              statements.push(text);
              return target.query(text, params);
            };
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const grouped = unitOfWorkMiddleware({
        sql: counted,
        logger: silentLogger(),
        tokenPath: '/token',
        resumePath: /^\/auth\/[^/]+$/,
      });
      const audit = createAudit(db.sql);
      const subjects = Array.from({ length: 10 }, (_, i) => `grouped-subject-${kind}-${i}`);
      await Promise.all(
        subjects.map(async (subject) => {
          const ctx = fakeCtx();
          await grouped(ctx as unknown as KoaContextWithOIDC, async () => {
            await audit.record({
              type: 'token.issued',
              subject,
              clientId: 'demo-service',
              details: { n: 1 },
            });
            ctx.status = 200;
          });
          // Answered only once stored.
          assert.equal((await audit.query({ subject })).length, 1);
        }),
      );
      assert.equal(statements.length < subjects.length, true, `${statements.length} statements`);
      for (const subject of subjects) {
        const [event] = await audit.query({ subject });
        assert.equal(event?.type, 'token.issued');
        assert.equal(event?.clientId, 'demo-service');
        assert.deepEqual(event?.details, { n: 1 });
      }
    });

    test('a grouped audit statement that fails stores each request’s events on its own', async () => {
      const audit = createAudit(db.sql);
      const subjects = ['a', 'b', 'c'].map((x) => `group-fallback-${kind}-${x}`);
      const statuses = await Promise.all(
        [subjects[0], subjects[1], undefined, subjects[2]].map(async (subject) => {
          const ctx = fakeCtx();
          await run(ctx, async () => {
            if (subject) await audit.record({ type: 'token.issued', subject });
            else deferAuditWrite({ text: 'insert into no_such_audit_table values ($1)', params: [1] });
            ctx.status = 200;
          });
          return ctx.status;
        }),
      );
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      for (const subject of subjects) assert.equal((await audit.query({ subject })).length, 1);
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
