// A logout whose database goes away half-way must still end in a revoked session: the client is
// answered 5xx, retries, and the retry finishes the job. A session ended without its revocation
// would stay valid at every gateway with nothing left for the retry to end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AccountsIdp, sessionCookieOf, startAccountsIdp } from './accounts-harness.ts';
import { recordingSql } from './recording-sql.ts';

describe('a logout interrupted by a lost database', () => {
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

  async function login(): Promise<string> {
    const res = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
    });
    assert.equal(res.status, 200);
    return sessionCookieOf(res)!;
  }

  const logout = (session: string) =>
    fetch(`${t.origin}/authentication/logout`, {
      method: 'POST',
      headers: { cookie: `gatehouse_session=${session}`, origin: t.origin },
    });

  const whoami = (session: string) =>
    fetch(`${t.origin}/authentication/whoami`, { headers: { cookie: `gatehouse_session=${session}` } });

  async function sidOf(session: string): Promise<string> {
    const payload = JSON.parse(Buffer.from(session.split('.')[1]!, 'base64url').toString()) as {
      sid: string;
    };
    return payload.sid;
  }

  for (const [where, statement] of [
    ['recording the revocation', /insert into idp_revocations/i],
    ['ending the session', /update idp_sessions set ended_at/i],
  ] as const) {
    test(`lost while ${where}: answered 5xx, the session still open, and the retry revokes it`, async () => {
      const session = await login();
      const sid = await sidOf(session);
      recording.seen.failWhen = statement;
      const first = await logout(session);
      assert.ok(first.status >= 500, `first logout answered ${first.status}`);
      assert.equal(recording.seen.failWhen, undefined, 'the failing statement was reached');
      // Told it failed, the client still holds a session that works: nothing half-done is visible.
      assert.equal((await whoami(session)).status, 200);

      const retry = await logout(session);
      assert.equal(retry.status, 204);
      assert.equal(await t.idp.revocations.isRevoked('sid', sid), true);
      assert.equal((await whoami(session)).status, 401);
    });
  }

  test('a logout that completes revokes the session once and ends it', async () => {
    const session = await login();
    const sid = await sidOf(session);
    assert.equal((await logout(session)).status, 204);
    assert.equal(await t.idp.revocations.isRevoked('sid', sid), true);
    const rows = await t.sql.query<{ ended_at: Date | null; end_reason: string | null }>(
      'select ended_at, end_reason from idp_sessions where id = $1',
      [sid],
    );
    assert.equal(rows[0]?.end_reason, 'logout');
    assert.ok(rows[0]?.ended_at instanceof Date);
    assert.equal((await logout(session)).status, 401, 'a second logout finds no session');
  });
});
