import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasSqlSession, type Sql, type SqlSession, withSqlSession } from './sql.ts';
import { storageErrors } from './storage-errors.ts';

/**
 * Plain SQL migrations.
 *
 * - Each component keeps `NNNN_name.sql` files in one folder (`packages/<pkg>/migrations/`).
 * - `migrate` applies, per component in the order given, the files not applied yet, in number order,
 *   each in its own transaction, and records each in `gatehouse_migrations` (component, id, checksum,
 *   applied_at). It returns the ids it applied, as `component/NNNN_name`.
 * - The whole run holds `pg_advisory_lock` keyed on the current schema, so replicas starting together
 *   wait for each other and each file runs once.
 * - An applied file that changed on disk stops the run before anything is applied
 *   (GH_MIGRATION_CHECKSUM_MISMATCH naming the file): write a new migration instead of editing one.
 * - A failing file is rolled back and stops the run (GH_MIGRATION_FAILED); files applied before it stay.
 * - Because each file already runs inside a transaction, a file must not contain BEGIN / COMMIT or
 *   statements that refuse to run in one (CREATE INDEX CONCURRENTLY, VACUUM).
 * - The lock is a session lock on one reserved connection: it needs a session-pooled or direct
 *   connection (not PgBouncer in transaction mode), and a server that implements advisory locks.
 */
export interface MigrationSource {
  component: string;
  dir: URL | string;
}

interface MigrationFile {
  component: string;
  id: string;
  file: string;
  checksum: string;
  script: string;
}

const fileNamePattern = /^(\d{4})_[a-z0-9_]+\.sql$/;
const componentPattern = /^[a-z][a-z0-9_-]*$/;
const lockKey = `hashtext('gatehouse_migrations:' || current_schema())`;

export async function migrate(sql: Sql, sources: MigrationSource[]): Promise<string[]> {
  if (!hasSqlSession(sql)) throw new Error('migrate needs a Sql opened by openSql');
  const plan: MigrationFile[] = [];
  for (const source of sources) plan.push(...(await readSource(source)));
  return sql[withSqlSession](async (session) => {
    await session.query(`select pg_advisory_lock(${lockKey})`);
    try {
      return await applyPending(session, plan);
    } finally {
      // If the connection is gone, so is its lock: nothing to undo then.
      await session.query(`select pg_advisory_unlock(${lockKey})`).catch(() => {});
    }
  });
}

async function applyPending(session: SqlSession, plan: MigrationFile[]): Promise<string[]> {
  await session.query(`create table if not exists gatehouse_migrations (
    component text not null,
    id text not null,
    checksum text not null,
    applied_at timestamptz not null default now(),
    primary key (component, id)
  )`);
  const rows = await session.query<{ component: string; id: string; checksum: string }>(
    'select component, id, checksum from gatehouse_migrations',
  );
  const applied = new Map(rows.map((r) => [`${r.component}/${r.id}`, r.checksum]));
  for (const m of plan) {
    const checksum = applied.get(`${m.component}/${m.id}`);
    if (checksum !== undefined && checksum !== m.checksum) {
      throw storageErrors.create(
        'GH_MIGRATION_CHECKSUM_MISMATCH',
        `Migration ${m.file} changed after it was applied (checksum ${checksum} in the database, ${m.checksum} on disk)`,
        { details: { file: m.file } },
      );
    }
  }
  const done: string[] = [];
  for (const m of plan) {
    if (applied.has(`${m.component}/${m.id}`)) continue;
    try {
      await session.transaction(async (tx) => {
        await tx.exec(m.script);
        await tx.query('insert into gatehouse_migrations (component, id, checksum) values ($1, $2, $3)', [
          m.component,
          m.id,
          m.checksum,
        ]);
      });
    } catch (err) {
      throw storageErrors.create(
        'GH_MIGRATION_FAILED',
        `Migration ${m.file} failed and was rolled back: ${(err as Error).message}`,
        { cause: err, details: { file: m.file } },
      );
    }
    done.push(`${m.component}/${m.id}`);
  }
  return done;
}

async function readSource(source: MigrationSource): Promise<MigrationFile[]> {
  if (!componentPattern.test(source.component)) {
    throw storageErrors.create(
      'GH_MIGRATION_INVALID',
      `Invalid migration component name ${source.component}`,
    );
  }
  const dir =
    source.dir instanceof URL || source.dir.startsWith('file:') ? fileURLToPath(source.dir) : source.dir;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw storageErrors.create('GH_MIGRATION_INVALID', `Cannot read migration folder ${dir}`, { cause: err });
  }
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const name of names.filter((n) => n.endsWith('.sql')).sort()) {
    const match = fileNamePattern.exec(name);
    if (!match) {
      throw storageErrors.create(
        'GH_MIGRATION_INVALID',
        `Migration file ${source.component}/${name} must be named NNNN_name.sql (lower case, digits, _)`,
      );
    }
    const number = match[1]!;
    const other = seen.get(number);
    if (other) {
      throw storageErrors.create(
        'GH_MIGRATION_INVALID',
        `Migration files ${source.component}/${other} and ${source.component}/${name} share number ${number}`,
      );
    }
    seen.set(number, name);
    const bytes = await readFile(join(dir, name));
    files.push({
      component: source.component,
      id: name.slice(0, -'.sql'.length),
      file: `${source.component}/${name}`,
      checksum: createHash('sha256').update(bytes).digest('hex'),
      script: bytes.toString('utf8'),
    });
  }
  return files;
}
