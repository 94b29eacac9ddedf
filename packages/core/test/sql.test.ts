import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openSql } from '../src/sql.ts';
import { openTestSql, skipUnlessService } from '../src/testing.ts';
import { sqlSuite } from './sql-suite.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

async function openTracked(kind: 'pglite' | 'postgres') {
  const db = await openTestSql(kind);
  cleanups.push(db.cleanup);
  return db.sql;
}

sqlSuite('sql storage [pglite]', () => openTracked('pglite'));

sqlSuite('sql storage [postgres]', () => openTracked('postgres'), {
  skip: await skipUnlessService('postgres'),
});

describe('pglite data folder', { timeout: 120_000 }, () => {
  test('data written before close is there after reopening the same folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pglite-'));
    try {
      const first = await openSql({ driver: 'pglite', dataDir: join(dir, 'data') });
      await first.query('create table kept (k text primary key, at timestamptz not null)');
      await first.query('insert into kept values ($1, $2)', ['key-1', new Date('2031-01-01T00:00:00Z')]);
      await first.close();

      const second = await openSql({ driver: 'pglite', dataDir: join(dir, 'data') });
      try {
        assert.deepStrictEqual(await second.query('select * from kept'), [
          { k: 'key-1', at: new Date('2031-01-01T00:00:00Z') },
        ]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('postgres connection', () => {
  test('an unreachable server gives GH_STORAGE_UNAVAILABLE (503) without leaking the password', async () => {
    await assert.rejects(
      openSql({ driver: 'postgres', url: 'postgres://u:s3cret@127.0.0.1:1/test' }),
      (err) => {
        assert.equal((err as { code?: string }).code, 'GH_STORAGE_UNAVAILABLE');
        assert.equal((err as { status?: number }).status, 503);
        assert.doesNotMatch((err as Error).message, /s3cret/);
        return true;
      },
    );
  });
});
