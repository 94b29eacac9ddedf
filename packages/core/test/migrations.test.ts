import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { migrate } from '../src/migrations.ts';
import { openSql } from '../src/sql.ts';
import { openTestSql, skipUnlessService, type TestSql } from '../src/testing.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gatehouse-migrations-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
/** A fresh migration folder holding `files` (name → SQL). */
async function folder(files: Record<string, string>): Promise<string> {
  const dir = join(root, `m${++dirCount}`);
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

for (const kind of ['pglite', 'postgres'] as const) {
  describe(`migrations [${kind}]`, { skip: await skipUnlessService(kind), timeout: 120_000 }, () => {
    let db: TestSql;
    before(async () => {
      db = await openTestSql(kind);
    });
    after(() => db?.cleanup());

    test('applies the files in number order, each once, and records them', async () => {
      const files = {
        '0002_add_column.sql': 'alter table a_items add column label text;',
        '0001_create.sql':
          'create table a_items (id int4 primary key);\ncreate index a_items_id on a_items (id);',
        'README.md': 'not a migration',
      };
      const dir = await folder(files);
      assert.deepStrictEqual(await migrate(db.sql, [{ component: 'alpha', dir }]), [
        'alpha/0001_create',
        'alpha/0002_add_column',
      ]);
      assert.deepStrictEqual(await migrate(db.sql, [{ component: 'alpha', dir }]), []);
      await db.sql.query('insert into a_items (id, label) values (1, $1)', ['x']);
      const rows = await db.sql.query<{ component: string; id: string; checksum: string; applied_at: Date }>(
        `select component, id, checksum, applied_at from gatehouse_migrations where component = 'alpha' order by id`,
      );
      assert.deepStrictEqual(
        rows.map(({ component, id, checksum }) => ({ component, id, checksum })),
        [
          { component: 'alpha', id: '0001_create', checksum: sha256(files['0001_create.sql']) },
          { component: 'alpha', id: '0002_add_column', checksum: sha256(files['0002_add_column.sql']) },
        ],
      );
      assert.ok(rows.every((r) => r.applied_at instanceof Date));
    });

    test('runs components in the order given and accepts a file URL for the folder', async () => {
      const first = await folder({ '0001_base.sql': 'create table b_base (id int4 primary key);' });
      const second = await folder({
        '0001_ref.sql': 'create table b_ref (id int4 references b_base (id));',
      });
      assert.deepStrictEqual(
        await migrate(db.sql, [
          { component: 'beta', dir: pathToFileURL(`${first}/`) },
          { component: 'beta-ext', dir: second },
        ]),
        ['beta/0001_base', 'beta-ext/0001_ref'],
      );
    });

    test('only the new files of a folder are applied on a later run', async () => {
      const dir = await folder({ '0001_one.sql': 'create table c_one (id int4);' });
      await migrate(db.sql, [{ component: 'gamma', dir }]);
      await writeFile(join(dir, '0002_two.sql'), 'create table c_two (id int4);');
      assert.deepStrictEqual(await migrate(db.sql, [{ component: 'gamma', dir }]), ['gamma/0002_two']);
    });

    test('an applied file changed on disk stops the run with GH_MIGRATION_CHECKSUM_MISMATCH naming it', async () => {
      const dir = await folder({ '0001_one.sql': 'create table d_one (id int4);' });
      await migrate(db.sql, [{ component: 'delta', dir }]);
      await writeFile(join(dir, '0001_one.sql'), 'create table d_one (id int8);');
      await writeFile(join(dir, '0002_two.sql'), 'create table d_two (id int4);');
      await assert.rejects(migrate(db.sql, [{ component: 'delta', dir }]), (err) => {
        assert.equal((err as { code?: string }).code, 'GH_MIGRATION_CHECKSUM_MISMATCH');
        assert.equal((err as { status?: number }).status, 500);
        assert.match((err as Error).message, /delta\/0001_one\.sql/);
        return true;
      });
      // Nothing was applied: the new file waits until the conflict is resolved.
      assert.deepStrictEqual(await db.sql.query(`select to_regclass('d_two')::text as t`), [{ t: null }]);
    });

    test('a failing file is rolled back, keeps the files before it, and names itself in GH_MIGRATION_FAILED', async () => {
      const dir = await folder({
        '0001_ok.sql': 'create table e_ok (id int4);',
        '0002_bad.sql': 'create table e_partial (id int4);\nselect * from e_missing;',
        '0003_after.sql': 'create table e_after (id int4);',
      });
      await assert.rejects(migrate(db.sql, [{ component: 'epsilon', dir }]), (err) => {
        assert.equal((err as { code?: string }).code, 'GH_MIGRATION_FAILED');
        assert.match((err as Error).message, /epsilon\/0002_bad\.sql/);
        assert.equal(((err as Error).cause as { code?: string }).code, '42P01');
        return true;
      });
      assert.deepStrictEqual(
        await db.sql.query(
          `select to_regclass('e_ok')::text as ok, to_regclass('e_partial')::text as partial, to_regclass('e_after')::text as later`,
        ),
        [{ ok: 'e_ok', partial: null, later: null }],
      );
      assert.deepStrictEqual(
        await db.sql.query(`select id from gatehouse_migrations where component = 'epsilon'`),
        [{ id: '0001_ok' }],
      );
    });

    test('a badly named .sql file is refused with GH_MIGRATION_INVALID before anything runs', async () => {
      const dir = await folder({
        '0001_fine.sql': 'create table f_fine (id int4);',
        '2_bad.sql': 'select 1;',
      });
      await assert.rejects(migrate(db.sql, [{ component: 'zeta', dir }]), (err) => {
        assert.equal((err as { code?: string }).code, 'GH_MIGRATION_INVALID');
        assert.match((err as Error).message, /zeta\/2_bad\.sql/);
        return true;
      });
      assert.deepStrictEqual(await db.sql.query(`select to_regclass('f_fine')::text as t`), [{ t: null }]);
    });

    test('two files with the same number are refused with GH_MIGRATION_INVALID', async () => {
      const dir = await folder({ '0001_a.sql': 'select 1;', '0001_b.sql': 'select 1;' });
      await assert.rejects(migrate(db.sql, [{ component: 'eta', dir }]), { code: 'GH_MIGRATION_INVALID' });
    });

    test('a missing folder or a bad component name is refused with GH_MIGRATION_INVALID', async () => {
      await assert.rejects(migrate(db.sql, [{ component: 'theta', dir: join(root, 'absent') }]), {
        code: 'GH_MIGRATION_INVALID',
      });
      const dir = await folder({ '0001_a.sql': 'select 1;' });
      await assert.rejects(migrate(db.sql, [{ component: '../x', dir }]), { code: 'GH_MIGRATION_INVALID' });
    });
  });
}

describe('migrations [postgres] between replicas', {
  skip: await skipUnlessService('postgres'),
  timeout: 120_000,
}, () => {
  let db: TestSql;
  before(async () => {
    db = await openTestSql('postgres');
  });
  after(() => db?.cleanup());

  test('two replicas migrating at once on separate connections apply each file exactly once', async () => {
    const dir = await folder({
      '0001_table.sql': 'create table r_runs (file text not null);',
      // The sleep widens the window in which the second replica would race without the lock.
      '0002_slow.sql': `select pg_sleep(0.3);\ninsert into r_runs values ('0002');`,
      '0003_more.sql': `insert into r_runs values ('0003');`,
    });
    const replica = await openSql({ driver: 'postgres', url: db.url! });
    try {
      const results = await Promise.all([
        migrate(db.sql, [{ component: 'race', dir }]),
        migrate(replica, [{ component: 'race', dir }]),
      ]);
      assert.deepStrictEqual(results.flat().sort(), ['race/0001_table', 'race/0002_slow', 'race/0003_more']);
      assert.deepStrictEqual(await db.sql.query('select file from r_runs order by file'), [
        { file: '0002' },
        { file: '0003' },
      ]);
      assert.deepStrictEqual(
        await db.sql.query(`select count(*)::int4 as n from gatehouse_migrations where component = 'race'`),
        [{ n: 3 }],
      );
    } finally {
      await replica.close();
    }
  });
});
