// Audit events written while PostgreSQL does not answer are held and stored once it does.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, openSql, type Sql } from '@gatehouse/core';
import {
  type CuttableRelay,
  openTestSql,
  skipUnlessService,
  startCuttableRelay,
  type TestSql,
} from '@gatehouse/core/testing';
import { createAudit } from '../src/audit/audit.ts';
import { createAuditBacklog } from '../src/audit/audit-backlog.ts';
import { idpMigrations } from '../src/index.ts';

function captured() {
  const stream = new PassThrough();
  const text: string[] = [];
  stream.on('data', (chunk: Buffer) => text.push(chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', destination: stream });
  const lines = () =>
    text
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; type?: string });
  return { logger, lines };
}

describe('audit events during a PostgreSQL outage [postgres]', {
  skip: await skipUnlessService('postgres'),
}, () => {
  let db: TestSql;
  let relay: CuttableRelay;
  let sql: Sql;
  before(async () => {
    db = await openTestSql('postgres', { migrations: [idpMigrations] });
    relay = await startCuttableRelay(db.url!);
    const url = new URL(relay.url);
    url.searchParams.set('query_timeout', '1');
    sql = await openSql({ driver: 'postgres', url: url.toString() });
  });
  after(async () => {
    relay?.restore();
    await sql?.close();
    await relay?.close();
    await db?.cleanup();
  });

  const subjects = async () =>
    (await db.sql.query<{ subject: string }>('select subject from idp_audit_events order by id')).map(
      (r) => r.subject,
    );

  test('events recorded while it is down are stored, in order, once it answers again', async () => {
    const { logger, lines } = captured();
    const audit = createAudit(sql, { logger });
    await audit.record({ type: 'logout', subject: 'before' });
    relay.cut();
    for (const subject of ['down-1', 'down-2', 'down-3']) await audit.record({ type: 'logout', subject });
    assert.deepEqual(await subjects(), ['before']);
    relay.restore();
    // The backlog retries every 2 s by itself.
    const deadline = Date.now() + 15_000;
    while ((await subjects()).length < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await subjects(), ['before', 'down-1', 'down-2', 'down-3']);
    assert.ok(
      !lines().some((l) => l.msg === 'audit event not stored' || l.msg.startsWith('audit event dropped')),
    );
  });

  test('past its bound the oldest held event is dropped, each with an error line', async () => {
    await db.sql.query('delete from idp_audit_events');
    const { logger, lines } = captured();
    const backlog = createAuditBacklog(sql, logger, { maxHeld: 2, retryMs: 60_000 });
    const insert = (subject: string) => ({
      text: `insert into idp_audit_events (type, subject, details) values ($1, $2, '{}'::jsonb)`,
      params: ['logout', subject],
    });
    relay.cut();
    for (const subject of ['a', 'b', 'c']) await backlog.store(insert(subject));
    assert.equal(backlog.held, 2);
    const dropped = lines().filter(
      (l) => l.msg === 'audit event dropped: too many held while storage is down',
    );
    assert.equal(dropped.length, 1);
    relay.restore();
    let tries = 0;
    while (backlog.held > 0 && tries++ < 50) {
      await backlog.flush();
      if (backlog.held > 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(await subjects(), ['b', 'c']);
  });
});
