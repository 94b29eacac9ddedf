import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { openSql, type Sql, type SqlSession, withSqlSession } from '../src/sql.ts';
import { openTestSql, skipUnlessService, type TestSql } from '../src/testing.ts';

const skip = await skipUnlessService('postgres');

/** Run `fn` on one connection of `sql`, and list the statements prepared on it afterwards. */
async function onOneConnection(sql: Sql, fn: (session: SqlSession) => Promise<void>): Promise<string[]> {
  return (sql as Sql & { [withSqlSession]: <R>(f: (s: SqlSession) => Promise<R>) => Promise<R> })[
    withSqlSession
  ](async (session) => {
    await fn(session);
    const rows = await session.query<{ statement: string }>('select statement from pg_prepared_statements');
    return rows.map((r) => r.statement);
  });
}

describe('postgres prepared statements', { skip }, () => {
  const dbs: TestSql[] = [];
  after(() => Promise.all(dbs.map((db) => db.cleanup())));

  test('a statement with parameters is prepared once per connection and answers the same', async () => {
    const db = await openTestSql('postgres');
    dbs.push(db);
    const text = 'select $1::int + 1 as n /* prepare-test */';
    const prepared = await onOneConnection(db.sql, async (session) => {
      assert.deepEqual(await session.query(text, [1]), [{ n: 2 }]);
      assert.deepEqual(await session.query(text, [41]), [{ n: 42 }]);
    });
    assert.equal(prepared.filter((s) => s === text).length, 1);
  });

  test('past 500 distinct texts, further texts run unprepared', async () => {
    const db = await openTestSql('postgres');
    dbs.push(db);
    const prepared = await onOneConnection(db.sql, async (session) => {
      for (let i = 0; i < 501; i++) await session.query(`select $1::int as n /* text ${i} */`, [i]);
    });
    // The pool's own first statement (its ping) is one of the 500.
    assert.equal(prepared.filter((s) => s.includes('/* text ')).length, 499);
    assert.ok(prepared.includes('select $1::int as n /* text 0 */'));
    assert.ok(!prepared.includes('select $1::int as n /* text 500 */'));
  });

  test('?prepare=false in the URL turns it off', async () => {
    const db = await openTestSql('postgres');
    dbs.push(db);
    const url = new URL(db.url!);
    url.searchParams.set('prepare', 'false');
    const sql = await openSql({ driver: 'postgres', url: url.toString() });
    try {
      const prepared = await onOneConnection(sql, async (session) => {
        assert.deepEqual(await session.query('select $1::int as n /* off */', [7]), [{ n: 7 }]);
      });
      assert.ok(!prepared.some((s) => s.includes('/* off */')));
    } finally {
      await sql.close();
    }
  });
});
