import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Sql } from '../src/sql.ts';

/**
 * The storage contract, run against every driver (sql.test.ts). `open` returns a ready `Sql` over an
 * empty database; each call may be a new database. The suite closes what it opens. `skip` is the
 * `describe` option (from `skipUnlessService`).
 */
export function sqlSuite(
  name: string,
  open: () => Promise<Sql>,
  options: { skip?: boolean | string } = {},
): void {
  describe(name, { timeout: 120_000, skip: options.skip ?? false }, () => {
    let sql: Sql;
    before(async () => {
      sql = await open();
    });
    after(() => sql?.close());

    test('returns every column type as the same JS type', async () => {
      const rows = await sql.query(`select
        42::int4 as i4, 9007199254740991::int8 as i8, 7::int2 as i2, 2.5::float8 as f8, 1.25::numeric as num,
        true as yes, 'héllo'::text as txt, 'a1b2c3d4-0000-4000-8000-000000000000'::uuid as id,
        '2024-05-06T07:08:09.123Z'::timestamptz as ts, '{"a":[1,"x",null],"b":{"c":true}}'::jsonb as doc,
        '[1,2]'::json as js, '\\x00ff10'::bytea as bin, '{1,2,3}'::int8[] as ids, '{a,b}'::text[] as tags,
        null::text as nothing`);
      assert.deepStrictEqual(rows, [
        {
          i4: 42,
          i8: 9007199254740991,
          i2: 7,
          f8: 2.5,
          num: '1.25',
          yes: true,
          txt: 'héllo',
          id: 'a1b2c3d4-0000-4000-8000-000000000000',
          ts: new Date('2024-05-06T07:08:09.123Z'),
          doc: { a: [1, 'x', null], b: { c: true } },
          js: [1, 2],
          bin: Buffer.from([0x00, 0xff, 0x10]),
          ids: [1, 2, 3],
          tags: ['a', 'b'],
          nothing: null,
        },
      ]);
    });

    test('an int8 beyond 2^53 comes back as a bigint instead of losing digits', async () => {
      const rows = await sql.query<{ big: unknown }>('select 9007199254740993::int8 as big');
      assert.deepStrictEqual(rows, [{ big: 9007199254740993n }]);
    });

    test('parameters of every type round-trip through a table', async () => {
      await sql.query(`create table t_params (
        id int8 primary key, doc jsonb not null, bin bytea not null, at timestamptz not null,
        ok bool not null, tags text[] not null, note text)`);
      const at = new Date('2030-01-02T03:04:05.678Z');
      const inserted = await sql.query(
        'insert into t_params values ($1, $2::jsonb, $3, $4, $5, $6, $7) returning *',
        [123, JSON.stringify({ k: ['v', 1] }), Buffer.from('héllo'), at, false, ['x', 'y'], undefined],
      );
      const expected = {
        id: 123,
        doc: { k: ['v', 1] },
        bin: Buffer.from('héllo'),
        at,
        ok: false,
        tags: ['x', 'y'],
        note: null,
      };
      assert.deepStrictEqual(inserted, [expected]);
      assert.deepStrictEqual(await sql.query('select * from t_params where id = $1', [123]), [expected]);
      assert.deepStrictEqual(await sql.query('select id from t_params where $1 = any(tags)', ['y']), [
        { id: 123 },
      ]);
    });

    test('a JSON string parameter is stored as that JSON, not double-encoded', async () => {
      const rows = await sql.query('select $1::jsonb as a, $2::jsonb as b', [JSON.stringify('text'), '[1]']);
      assert.deepStrictEqual(rows, [{ a: 'text', b: [1] }]);
    });

    test('statements without RETURNING resolve to no rows', async () => {
      assert.deepStrictEqual(await sql.query('create table t_empty (v text)'), []);
      assert.deepStrictEqual(await sql.query('insert into t_empty values ($1)', ['a']), []);
      assert.deepStrictEqual(await sql.query('select * from t_empty where v = $1', ['none']), []);
    });

    test('a unique violation keeps its SQLSTATE code 23505', async () => {
      await sql.query('create table t_unique (k text primary key)');
      await sql.query('insert into t_unique values ($1)', ['a']);
      await assert.rejects(sql.query('insert into t_unique values ($1)', ['a']), { code: '23505' });
    });

    test('two statements in one query are refused with 42601', async () => {
      await assert.rejects(sql.query('select 1; select 2'), { code: '42601' });
    });

    test('a transaction commits when its function resolves and returns its value', async () => {
      await sql.query('create table t_commit (v int4)');
      const result = await sql.transaction(async (tx) => {
        await tx.query('insert into t_commit values (1), (2)');
        return (await tx.query<{ n: number }>('select count(*)::int4 as n from t_commit'))[0]?.n;
      });
      assert.equal(result, 2);
      assert.deepStrictEqual(await sql.query('select v from t_commit order by v'), [{ v: 1 }, { v: 2 }]);
    });

    test('a transaction rolls back when its function throws, and the error comes out unchanged', async () => {
      await sql.query('create table t_rollback (v int4)');
      const boom = new Error('boom');
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.query('insert into t_rollback values (1)');
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.deepStrictEqual(await sql.query('select * from t_rollback'), []);
    });

    test('a failing statement rolls the whole transaction back', async () => {
      await sql.query('create table t_fail (k int4 primary key)');
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.query('insert into t_fail values (1)');
          await tx.query('insert into t_fail values (1)');
        }),
        { code: '23505' },
      );
      assert.deepStrictEqual(await sql.query('select * from t_fail'), []);
    });

    test('using the outer sql inside a transaction fails fast with GH_STORAGE_NESTED_QUERY and rolls back', async () => {
      await sql.query('create table t_nested (v int4)');
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.query('insert into t_nested values (1)');
          await sql.query('select 1');
        }),
        { code: 'GH_STORAGE_NESTED_QUERY', status: 500 },
      );
      await assert.rejects(
        sql.transaction(() => sql.transaction(async () => 1)),
        { code: 'GH_STORAGE_NESTED_QUERY' },
      );
      assert.deepStrictEqual(await sql.query('select * from t_nested'), []);
    });

    test('work started outside a transaction runs while it is open and no one deadlocks', async () => {
      await sql.query('create table t_concurrent (v int4)');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const tx = sql.transaction(async (t) => {
        await t.query('insert into t_concurrent values (1)');
        entered();
        await gate;
        await t.query('insert into t_concurrent values (2)');
      });
      await inside;
      const outside = sql.query('insert into t_concurrent values (3)');
      release();
      await Promise.all([tx, outside]);
      assert.deepStrictEqual(await sql.query('select v from t_concurrent order by v'), [
        { v: 1 },
        { v: 2 },
        { v: 3 },
      ]);
    });

    test('after a transaction ends, code it started may use the outer sql again', async () => {
      let later!: Promise<unknown[]>;
      await sql.transaction(async () => {
        later = new Promise((resolve, reject) => {
          setImmediate(() => {
            setImmediate(() => sql.query('select 1 as one').then(resolve, reject));
          });
        });
      });
      assert.deepStrictEqual(await later, [{ one: 1 }]);
    });

    test('many parallel queries all complete', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => sql.query<{ n: number }>('select $1::int4 as n', [i])),
      );
      assert.deepStrictEqual(
        results.map((r) => r[0]?.n),
        Array.from({ length: 50 }, (_, i) => i),
      );
    });

    test('ping resolves while open; after close every call fails with GH_STORAGE_CLOSED', async () => {
      const other = await open();
      await other.ping();
      await other.close();
      await other.close(); // closing twice is harmless
      await assert.rejects(other.query('select 1'), { code: 'GH_STORAGE_CLOSED', status: 503 });
      await assert.rejects(other.ping(), { code: 'GH_STORAGE_CLOSED' });
      await assert.rejects(
        other.transaction(async () => 1),
        { code: 'GH_STORAGE_CLOSED' },
      );
    });
  });
}
