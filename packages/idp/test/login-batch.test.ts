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
import { createAudit } from '../src/audit/audit.ts';
import { idpMigrations } from '../src/index.ts';
import { createRevocationPublisher } from '../src/revocation/revocation-publisher.ts';
import { createAdapterClass } from '../src/storage/adapter.ts';
import { createGrantRevoker } from '../src/storage/grant-revoker.ts';
import type { BatchedWrite } from '../src/storage/one-statement.ts';
import { UnitOfWork } from '../src/storage/unit-of-work.ts';
import { unitOfWorkMiddleware } from '../src/storage/unit-of-work-middleware.ts';
import {
  type AccountsIdp,
  authorizationRequest,
  type browserCookies,
  openLoginPage,
  startAccountsIdp,
} from './accounts-harness.ts';
import { recordingSql } from './recording-sql.ts';

const REDIRECT = 'http://localhost:8080/callback';
const isWrite = (text: string) => /^\s*(insert|update|delete|with)\b/i.test(text);
/** A hosted-page request's unit of work, as interactions.ts opens one. */
const interactionWork = (sql: Sql) => new UnitOfWork({ sql, logger: silentLogger(), kind: 'interaction' });
const saveIfPresent = (sql: Sql, _logger: unknown, save: () => Promise<unknown>, audit?: BatchedWrite[]) =>
  interactionWork(sql).saveIfPresent(save, audit);
const holdAuditWrites = <T>(sql: Sql, _logger: unknown, fn: () => Promise<T>) =>
  interactionWork(sql).holdAuditWrites(fn);
describe('a password login commits once per request', { timeout: 120_000 }, () => {
  let t: AccountsIdp;
  let recording: ReturnType<typeof recordingSql>;

  before(async () => {
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      wrapSql: (sql) => {
        recording = recordingSql(sql);
        return recording.proxy;
      },
    });
  });
  after(() => t?.close());

  /** Up to the login page in a fresh browser. */
  const start = () => openLoginPage(t, { state: 'st-1' });

  /** A whole login in a fresh browser, up to the code its resume redirects to the client with. */
  async function loginToCode() {
    const s = await start();
    const login = await post(s.page, s);
    s.browser.take(login);
    const resume = await fetch(new URL(login.headers.get('location')!, t.origin), {
      redirect: 'manual',
      headers: { cookie: s.browser.header() },
    });
    return { s, code: new URL(resume.headers.get('location')!).searchParams.get('code')! };
  }

  function post(
    page: URL,
    s: { csrf: string; browser: ReturnType<typeof browserCookies> },
    credentials = { username: 'alice', password: 'alice-password' },
  ) {
    return fetch(`${page}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: s.browser.header(),
        origin: t.origin,
      },
      body: new URLSearchParams({ csrf: s.csrf, ...credentials }),
    });
  }

  function redeem(code: string, verifier: string) {
    return fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: 'demo-app',
        code_verifier: verifier,
      }),
    });
  }

  /** Run `step` recording its statements. */
  async function recorded<T>(
    step: () => Promise<T>,
  ): Promise<{ result: T; statements: string[]; texts: string[]; tx: number }> {
    recording.seen.statements = [];
    recording.seen.texts = [];
    recording.seen.transactions = 0;
    recording.seen.on = true;
    try {
      const result = await step();
      return {
        result,
        statements: recording.seen.statements,
        texts: recording.seen.texts,
        tx: recording.seen.transactions,
      };
    } finally {
      recording.seen.on = false;
    }
  }

  const interactionRow = async (uid: string) =>
    (await t.sql.query(`select 1 from idp_oidc_models where model = 'Interaction' and id = $1`, [uid]))
      .length;

  test('the login post stores its result without reading the interaction again; the resume writes once; the token request reads and writes once', async () => {
    const s = await start();
    const uid = s.page.pathname.split('/').pop()!;

    const succeeded = async () =>
      (await t.sql.query(`select 1 from idp_audit_events where type = 'login.succeeded'`)).length;
    const eventsBefore = await succeeded();
    const login = await recorded(() => post(s.page, s));
    assert.equal(login.result.status, 303);
    assert.equal(await succeeded(), eventsBefore + 1);
    assert.equal(login.result.headers.get('content-length'), '0');
    assert.equal(new URL(login.result.headers.get('location')!, t.origin).pathname, `/auth/auth/${uid}`);
    // The interaction read once before the password check, with the account the form names (no
    // statement of its own); the result stored with the login's audit event.
    assert.deepEqual(login.statements, ['select payload, consumed_at, (select', 'with w0 as (update']);
    assert.match(login.texts[0]!, /idp_oidc_models/);
    assert.match(login.texts[0]!, /from idp_users where username_key = \$3/);
    assert.equal(login.statements.filter(isWrite).length, 1);
    assert.equal(login.tx, 0);
    s.browser.take(login.result);

    const resume = await recorded(() =>
      fetch(new URL(login.result.headers.get('location')!, t.origin), {
        redirect: 'manual',
        headers: { cookie: s.browser.header() },
      }),
    );
    assert.equal(resume.result.status, 303);
    const callback = new URL(resume.result.headers.get('location')!);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
    assert.equal(callback.searchParams.get('state'), 'st-1');
    // The interaction's delete, the grant, the code and the session: one statement, no transaction.
    assert.deepEqual(resume.statements.filter(isWrite), ['with w0 as (delete']);
    assert.equal(resume.tx, 0);
    assert.equal(await interactionRow(uid), 0);

    const token = await recorded(() => redeem(callback.searchParams.get('code')!, s.verifier));
    assert.equal(token.result.status, 200);
    assert.equal(typeof ((await token.result.json()) as { id_token?: string }).id_token, 'string');
    // The code with its grant and session; the account; the consume with the token's record.
    assert.deepEqual(
      token.statements.filter((x) => /idp_oidc_models|^with|^select r\.i/.test(x)),
      ['select r.i, t.payload, t.consumed_at,', 'with w0 as (update'],
    );
    assert.equal(token.tx, 0);
  });

  test('the resume reads the account with the interaction, the token request with the code: no account read of their own', async () => {
    const s = await start();
    const login = await post(s.page, s);
    s.browser.take(login);
    const resume = await recorded(() =>
      fetch(new URL(login.headers.get('location')!, t.origin), {
        redirect: 'manual',
        headers: { cookie: s.browser.header() },
      }),
    );
    assert.equal(resume.result.status, 303);
    assert.deepEqual(resume.statements, ['select payload, consumed_at, (select', 'with w0 as (delete']);
    const code = new URL(resume.result.headers.get('location')!).searchParams.get('code')!;

    const token = await recorded(() => redeem(code, s.verifier));
    assert.equal(token.result.status, 200);
    assert.deepEqual(token.statements, ['select r.i, t.payload, t.consumed_at,', 'with w0 as (update']);
    // What was read ahead is the account findAccount reads: the same subject, name and roles.
    const alice = (await t.accounts.getByUsername('alice'))!;
    const { access_token, id_token } = (await token.result.json()) as {
      access_token: string;
      id_token: string;
    };
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    assert.equal(claims(id_token).sub, alice.id);
    const access = claims(access_token);
    assert.equal(access.sub, alice.id);
    assert.equal(access.username, 'alice');
    assert.deepEqual(access.roles, alice.roles);
    assert.ok(alice.roles.length > 0);
  });

  test('an account disabled after its login is refused at the resume, one disabled after the resume at the token request', async () => {
    const mallory = await t.accounts.create(
      { username: 'mallory', password: 'quiet harbor lantern' },
      { allowCommonPassword: true },
    );
    const credentials = { username: 'mallory', password: 'quiet harbor lantern' };
    try {
      const s1 = await start();
      const login1 = await post(s1.page, s1, credentials);
      assert.equal(login1.status, 303);
      s1.browser.take(login1);
      await t.accounts.update(mallory.id, { enabled: false });
      const resume1 = await fetch(new URL(login1.headers.get('location')!, t.origin), {
        redirect: 'manual',
        headers: { cookie: s1.browser.header() },
      });
      // No code for a disabled account: the browser is sent to a new login page (it was a 500).
      assert.equal(resume1.status, 303);
      const to1 = new URL(resume1.headers.get('location')!, t.origin);
      assert.match(to1.pathname, /^\/auth\/interaction\/[^/]+$/);
      assert.notEqual(to1.pathname, new URL(s1.page).pathname);
      assert.equal(to1.searchParams.get('code'), null);

      await t.accounts.update(mallory.id, { enabled: true });
      const s2 = await start();
      const login2 = await post(s2.page, s2, credentials);
      s2.browser.take(login2);
      const resume2 = await fetch(new URL(login2.headers.get('location')!, t.origin), {
        redirect: 'manual',
        headers: { cookie: s2.browser.header() },
      });
      const code = new URL(resume2.headers.get('location')!).searchParams.get('code');
      assert.ok(code);
      await t.accounts.update(mallory.id, { enabled: false });
      const refused = await redeem(code, s2.verifier);
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
    } finally {
      await t.accounts.delete(mallory.id);
    }
  });

  test('a signed-in browser whose account is then disabled: prompt=none gets login_required, without it a new login page', async () => {
    const credentials = { username: 'trent', password: 'amber falcon meadow' };
    const trent = await t.accounts.create(credentials, { allowCommonPassword: true });
    try {
      const s = await start();
      const login = await post(s.page, s, credentials);
      s.browser.take(login);
      const resume = await fetch(new URL(login.headers.get('location')!, t.origin), {
        redirect: 'manual',
        headers: { cookie: s.browser.header() },
      });
      assert.ok(new URL(resume.headers.get('location')!).searchParams.get('code'));
      s.browser.take(resume);
      await t.accounts.update(trent.id, { enabled: false });

      const again = (prompt?: string) => {
        const { url } = authorizationRequest(
          t,
          { scope: 'openid', state: 'st-2', ...(prompt ? { prompt } : {}) },
          s.verifier,
        );
        return fetch(url, { redirect: 'manual', headers: { cookie: s.browser.header() } });
      };
      const silent = await again('none');
      assert.equal(silent.status, 303);
      const back = new URL(silent.headers.get('location')!);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get('error'), 'login_required');
      assert.equal(back.searchParams.get('code'), null);

      const interactive = await again();
      assert.equal(interactive.status, 303);
      assert.match(
        new URL(interactive.headers.get('location')!, t.origin).pathname,
        /^\/auth\/interaction\/[^/]+$/,
      );
    } finally {
      await t.accounts.delete(trent.id);
    }
  });

  test('a code redeemed twice: the second fails with invalid_grant and revokes the grant', async () => {
    const { s, code } = await loginToCode();
    const first = await redeem(code, s.verifier);
    assert.equal(first.status, 200);
    const grantId = (
      await t.sql.query<{ grant_id: string }>(
        `select grant_id from idp_oidc_models where model = 'AuthorizationCode' and id = $1`,
        [code],
      )
    )[0]!.grant_id;
    const second = await redeem(code, s.verifier);
    assert.equal(second.status, 400);
    assert.equal(((await second.json()) as { error: string }).error, 'invalid_grant');
    const left = await t.sql.query(`select 1 from idp_oidc_models where grant_id = $1 or id = $1`, [grantId]);
    assert.equal(left.length, 0);
  });

  test('two redemptions of one code at once: one answer; the loser stores nothing and the grant is revoked', async () => {
    const { s, code } = await loginToCode();
    const grantId = (
      await t.sql.query<{ grant_id: string }>(
        `select grant_id from idp_oidc_models where model = 'AuthorizationCode' and id = $1`,
        [code],
      )
    )[0]!.grant_id;
    const answers = await Promise.all([redeem(code, s.verifier), redeem(code, s.verifier)]);
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 400]);
    const refused = answers.find((a) => a.status === 400)!;
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
    // The grant and every artifact of it are gone, JWT records included (the winner's are revoked).
    assert.equal(
      (await t.sql.query(`select 1 from idp_oidc_models where grant_id = $1 or id = $1`, [grantId])).length,
      0,
    );
    assert.equal(
      (await t.sql.query('select 1 from idp_jwt_access_tokens where grant_id = $1', [grantId])).length,
      0,
    );
  });

  test('two resumes of one interaction at once: each answer is a redirect with a code or the error page, every code redeems once', async () => {
    const s = await start();
    const uid = s.page.pathname.split('/').pop()!;
    const login = await post(s.page, s);
    s.browser.take(login);
    const target = new URL(login.headers.get('location')!, t.origin);
    const answers = await Promise.all(
      [0, 1].map(() => fetch(target, { redirect: 'manual', headers: { cookie: s.browser.header() } })),
    );
    const codes: string[] = [];
    for (const a of answers) {
      if (a.status === 303 && new URL(a.headers.get('location')!).origin !== t.origin) {
        codes.push(new URL(a.headers.get('location')!).searchParams.get('code')!);
      } else {
        assert.equal(a.status, 400, `unexpected answer ${a.status}`);
        assert.match(await a.text(), /Sign-in error/);
      }
    }
    assert.ok(codes.length >= 1);
    assert.equal(await interactionRow(uid), 0);
    for (const code of codes) {
      assert.equal((await redeem(code, s.verifier)).status, 200);
      assert.equal((await redeem(code, s.verifier)).status, 400);
    }
    // A resume after both is refused: the interaction was consumed and not re-created.
    const late = await fetch(target, { redirect: 'manual', headers: { cookie: s.browser.header() } });
    assert.equal(late.status, 400);
  });

  test('a resume whose one statement fails answers the server_error page and stores nothing of it', async () => {
    const s = await start();
    const uid = s.page.pathname.split('/').pop()!;
    const login = await post(s.page, s);
    s.browser.take(login);
    const before = await t.sql.query(
      `select 1 from idp_oidc_models where model in ('AuthorizationCode', 'Grant')`,
    );
    recording.seen.failWhen = /^with w0 as \(delete from idp_oidc_models/;
    const resume = await fetch(new URL(login.headers.get('location')!, t.origin), {
      redirect: 'manual',
      headers: { cookie: s.browser.header() },
    });
    recording.seen.failWhen = undefined;
    // As when the session save failed before: 500 and the error page (the redirect never happens).
    assert.equal(resume.status, 500);
    assert.match(await resume.text(), /server_error/);
    assert.equal(resume.headers.get('location'), null);
    const afterwards = await t.sql.query(
      `select 1 from idp_oidc_models where model in ('AuthorizationCode', 'Grant')`,
    );
    assert.equal(afterwards.length, before.length);
    // Rolled back as a whole: the interaction was not consumed either.
    assert.equal(await interactionRow(uid), 1);
  });
});

for (const kind of ['pglite', 'postgres'] as const)
  describe(`the resume write batch and update-only saves [${kind}]`, {
    timeout: 60_000,
    skip: await skipUnlessService(kind),
  }, () => {
    let db: TestSql;
    let st: TestState;
    let Adapter: ReturnType<typeof createAdapterClass>;
    let recording: ReturnType<typeof recordingSql>;
    let middleware: ReturnType<typeof unitOfWorkMiddleware>;

    before(async () => {
      db = await openTestSql(kind, { migrations: [idpMigrations] });
      st = await openTestState('memory');
      recording = recordingSql(db.sql);
      const revocations = createRevocationPublisher({ sql: db.sql, state: st.state, logger: silentLogger() });
      Adapter = createAdapterClass({
        sql: recording.proxy,
        grants: createGrantRevoker(db.sql, revocations),
        logger: silentLogger(),
      });
      middleware = unitOfWorkMiddleware({
        sql: recording.proxy,
        logger: silentLogger(),
        tokenPath: '/token',
        resumePath: /^\/auth\/[^/]+$/,
        renderError: undefined,
      });
    });
    after(async () => {
      await st?.cleanup();
      await db?.cleanup();
    });

    const resume = (next: () => Promise<unknown>) =>
      middleware({ method: 'GET', path: '/auth/some-uid' } as unknown as KoaContextWithOIDC, next);
    const row = async (model: string, id: string) =>
      (
        await db.sql.query<{ payload: Record<string, unknown> }>(
          'select payload from idp_oidc_models where model = $1 and id = $2',
          [model, id],
        )
      )[0]?.payload;

    test('a resume stores its writes when the session is stored, in one statement, in order', async () => {
      await new Adapter('Interaction').upsert('i-1', { uid: 'i-1' }, 600);
      recording.seen.statements = [];
      recording.seen.on = true;
      let storedBeforeSession: unknown;
      await resume(async () => {
        await new Adapter('Interaction').destroy('i-1');
        await new Adapter('Grant').upsert('g-1', { accountId: 'a' }, 600);
        await new Adapter('AuthorizationCode').upsert('c-1', { grantId: 'g-1' }, 60);
        storedBeforeSession = await row('AuthorizationCode', 'c-1');
        await new Adapter('Session').upsert('s-1', { uid: 'su-1', accountId: 'a' }, 600);
      });
      recording.seen.on = false;
      assert.equal(storedBeforeSession, undefined);
      assert.deepEqual(recording.seen.statements, ['with w0 as (delete']);
      assert.equal(await row('Interaction', 'i-1'), undefined);
      assert.deepEqual(await row('AuthorizationCode', 'c-1'), { grantId: 'g-1' });
      assert.deepEqual(await row('Session', 's-1'), { uid: 'su-1', accountId: 'a' });
    });

    test('within a resume a lookup sees the pending writes of its model; a second write to a row goes after the first', async () => {
      let found: unknown;
      await resume(async () => {
        await new Adapter('Grant').upsert('g-2', { accountId: 'a', v: 1 }, 600);
        found = await new Adapter('Grant').find('g-2');
        await new Adapter('Interaction').upsert('i-2', { v: 1 }, 600);
        await new Adapter('Interaction').upsert('i-2', { v: 2 }, 600);
      });
      assert.deepEqual(found, { accountId: 'a', v: 1 });
      assert.deepEqual(await row('Interaction', 'i-2'), { v: 2 });
    });

    test('writes left pending when no session is stored are committed before the answer', async () => {
      await new Adapter('Interaction').upsert('i-3', { uid: 'i-3' }, 600);
      let pendingAtEnd: unknown;
      await resume(async () => {
        await new Adapter('Interaction').destroy('i-3');
        pendingAtEnd = await row('Interaction', 'i-3');
      });
      assert.deepEqual(pendingAtEnd, { uid: 'i-3' });
      assert.equal(await row('Interaction', 'i-3'), undefined);
    });

    test('an update-only save updates an interaction that exists and never re-creates a consumed one', async () => {
      const interactions = new Adapter('Interaction');
      const save = (result: number) => () => interactions.upsert('i-4', { uid: 'i-4', result }, 600);
      await interactions.upsert('i-4', { uid: 'i-4' }, 600);
      assert.equal(await saveIfPresent(recording.proxy, silentLogger(), save(1)), true);
      assert.deepEqual(await row('Interaction', 'i-4'), { uid: 'i-4', result: 1 });
      await interactions.destroy('i-4');
      assert.equal(await saveIfPresent(recording.proxy, silentLogger(), save(2)), false);
      assert.equal(await row('Interaction', 'i-4'), undefined);
    });

    /** The audit writes `record` makes, held back as the login form does. */
    async function heldEvent(subject: string) {
      const audit = createAudit(recording.proxy);
      const held = await holdAuditWrites(recording.proxy, silentLogger(), () =>
        audit.record({ type: 'login.succeeded', actor: subject, subject, details: { via: 'test' } }),
      );
      return held.audit;
    }
    const events = async (subject: string) =>
      (await db.sql.query('select 1 from idp_audit_events where subject = $1', [subject])).length;

    test('held audit events go in the statement of the update-only save, also when the row is gone', async () => {
      const interactions = new Adapter('Interaction');
      await interactions.upsert('i-5', { uid: 'i-5' }, 600);
      const audit = await heldEvent('subject-5');
      assert.equal(await events('subject-5'), 0);
      recording.seen.statements = [];
      recording.seen.on = true;
      const stored = await saveIfPresent(
        recording.proxy,
        silentLogger(),
        () => interactions.upsert('i-5', { uid: 'i-5', result: 1 }, 600),
        audit,
      );
      recording.seen.on = false;
      assert.equal(stored, true);
      assert.deepEqual(recording.seen.statements, ['with w0 as (update']);
      assert.equal(await events('subject-5'), 1);
      await interactions.destroy('i-5');
      const gone = await saveIfPresent(
        recording.proxy,
        silentLogger(),
        () => interactions.upsert('i-5', { uid: 'i-5', result: 2 }, 600),
        await heldEvent('subject-5'),
      );
      assert.equal(gone, false);
      assert.equal(await row('Interaction', 'i-5'), undefined);
      assert.equal(await events('subject-5'), 2);
    });

    test('when the statement with the events fails, the events and the update are stored on their own', async () => {
      const interactions = new Adapter('Interaction');
      await interactions.upsert('i-6', { uid: 'i-6' }, 600);
      recording.seen.failWhen = /^with w0 as \(update idp_oidc_models/;
      const stored = await saveIfPresent(
        recording.proxy,
        silentLogger(),
        () => interactions.upsert('i-6', { uid: 'i-6', result: 1 }, 600),
        await heldEvent('subject-6'),
      );
      recording.seen.failWhen = undefined;
      assert.equal(stored, true);
      assert.deepEqual(await row('Interaction', 'i-6'), { uid: 'i-6', result: 1 });
      assert.equal(await events('subject-6'), 1);
    });

    test('held events are stored even when the save fails before writing, and when the check throws', async () => {
      await assert.rejects(
        saveIfPresent(
          recording.proxy,
          silentLogger(),
          async () => {
            throw new Error('no write');
          },
          await heldEvent('subject-7'),
        ),
        /no write/,
      );
      assert.equal(await events('subject-7'), 1);
      const audit = createAudit(recording.proxy);
      await assert.rejects(
        holdAuditWrites(recording.proxy, silentLogger(), async () => {
          await audit.record({ type: 'login.failed', subject: 'subject-8', details: {} });
          throw new Error('wrong password');
        }),
        /wrong password/,
      );
      assert.equal(await events('subject-8'), 1);
    });
  });
