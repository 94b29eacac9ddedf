import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState, waitFor } from '@gatehouse/core/testing';
import { createAudit } from '../src/audit/audit.ts';
import { createDirectoryService } from '../src/directory/directory-service.ts';
import { idpMigrations } from '../src/index.ts';
import {
  BASE_DN,
  group,
  person,
  READER_DN,
  READER_PASSWORD,
  type Slapd,
  slapdSkip,
  startSlapd,
} from './slapd-harness.ts';

// The directory client's limits: a bounded pool (counted by a TCP relay in front of slapd), a
// directory that accepts connections and never answers, group search, and the periodic sync on its timer.
const skip = slapdSkip();

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('LDAP directory connections', { skip, timeout: 120_000 }, () => {
  let slapd: Slapd;
  let db: TestSql;
  let state: TestState;
  before(async () => {
    slapd = await startSlapd(
      [
        person('pia', 'pia-directory-password'),
        person('rex', 'rex-directory-password'),
        group('crew', ['pia']),
        group('visitors', ['rex']),
      ].join('\n'),
    );
    db = await openTestSql('pglite', { migrations: [idpMigrations] });
    state = await openTestState('memory');
  });
  after(async () => {
    await slapd?.close();
    await state?.cleanup();
    await db?.cleanup();
  });

  const service = (directory: Record<string, unknown>, schedule = false) =>
    createDirectoryService({
      config: {
        enabled: true,
        bindDn: READER_DN,
        bindPassword: READER_PASSWORD,
        userSearch: { base: `ou=people,${BASE_DN}` },
        groups: { mode: 'none' },
        url: slapd.url,
        ...directory,
      },
      sql: db.sql,
      state: state.state,
      audit: createAudit(db.sql),
      logger: silentLogger(),
      schedule,
    })!;

  test('at most poolSize connections, however many logins run at once', async () => {
    let open = 0;
    let most = 0;
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      open++;
      most = Math.max(most, open);
      const upstream = connect(Number(new URL(slapd.url).port), '127.0.0.1');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const done = () => {
        if (sockets.delete(client)) open--;
        upstream.destroy();
      };
      client.on('close', done).on('error', done);
      upstream.on('close', () => client.destroy()).on('error', () => client.destroy());
    });
    const port = await listen(relay);
    const directory = service({ url: `ldap://127.0.0.1:${port}`, poolSize: 2 });
    try {
      const verdicts = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 2
            ? directory.passwords.signIn('pia', 'pia-directory-password')
            : directory.passwords.signIn('rex', 'rex-directory-password'),
        ),
      );
      assert.deepEqual(new Set(verdicts.map((v) => v.outcome)), new Set(['signed-in']));
      assert.ok(most >= 1 && most <= 2, `at most 2 connections at once, saw ${most}`);
    } finally {
      await directory.close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  test('a directory that accepts connections and never answers: IDP_DIRECTORY_UNAVAILABLE within timeoutMs', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    const port = await listen(silent);
    const directory = service({ url: `ldap://127.0.0.1:${port}`, timeoutMs: 300, connectTimeoutMs: 300 });
    const started = Date.now();
    try {
      await assert.rejects(directory.passwords.signIn('pia', 'pia-directory-password'), {
        code: 'IDP_DIRECTORY_UNAVAILABLE',
      });
      assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
    } finally {
      await directory.close();
      for (const s of held) s.destroy();
      silent.close();
    }
  });

  test('group search mode: the roles of the groups whose member attribute names the entry', async () => {
    const directory = service({
      groups: {
        mode: 'search',
        base: `ou=groups,${BASE_DN}`,
        roles: {
          [`cn=crew,ou=groups,${BASE_DN}`]: ['crew-member'],
          [`cn=visitors,ou=groups,${BASE_DN}`]: ['visitor'],
        },
      },
    });
    try {
      const verdict = await directory.passwords.signIn('pia', 'pia-directory-password');
      assert.equal(verdict.outcome, 'signed-in');
      const id = verdict.outcome === 'signed-in' ? verdict.accountId : '';
      const roles = await db.sql.query<{ role: string }>(
        'select role from idp_user_roles where user_id = $1',
        [id],
      );
      assert.deepEqual(
        roles.map((r) => r.role),
        ['crew-member'],
      );
    } finally {
      await directory.close();
    }
  });

  test('the periodic sync runs on its interval and disables an account whose entry was removed', async () => {
    const first = service({});
    const verdict = await first.passwords.signIn('rex', 'rex-directory-password');
    await first.close();
    assert.equal(verdict.outcome, 'signed-in');
    const id = verdict.outcome === 'signed-in' ? verdict.accountId : '';
    await slapd.modify(`dn: uid=rex,ou=people,${BASE_DN}\nchangetype: delete\n`);
    const scheduled = service({ syncIntervalSeconds: 1 }, true);
    try {
      await waitFor(
        async () =>
          (await db.sql.query<{ enabled: boolean }>('select enabled from idp_users where id = $1', [id]))[0]
            ?.enabled === false,
        { timeoutMs: 10_000, intervalMs: 100, what: 'the scheduled sync to disable rex' },
      );
      const events = await createAudit(db.sql).query({ type: 'directory.sync' });
      assert.ok(events.length >= 1);
    } finally {
      await scheduled.close();
    }
  });
});
