import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dataFolderHolder, lockFileOf } from '../src/data-folder-lock.ts';
import { GatehouseError } from '../src/errors.ts';
import { openSql } from '../src/sql.ts';

const sqlModule = new URL('../src/sql.ts', import.meta.url).href;

/** Another process that opens the data folder and keeps it open until killed. */
async function holderProcess(dataDir: string): Promise<ChildProcess> {
  // A script file, not -e: PGlite's init worker inherits the parent's execArgv.
  const script = join(dataDir, '..', 'holder.mjs');
  writeFileSync(
    script,
    `const { openSql } = await import(${JSON.stringify(sqlModule)});
     await openSql({ driver: 'pglite', dataDir: ${JSON.stringify(dataDir)} });
     console.log('ready');
     setInterval(() => {}, 1000);`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('the embedded data folder is locked by the process that opens it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-lock-'));
  const dataDir = join(dir, 'data');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a second process is refused with 409 GH_STORAGE_LOCKED naming the holder (pid, command)', async () => {
    const holder = await holderProcess(dataDir);
    children.push(holder);
    await assert.rejects(openSql({ driver: 'pglite', dataDir }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.code, 'GH_STORAGE_LOCKED');
      assert.equal(err.status, 409);
      assert.match(err.message, new RegExp(`in use by process ${holder.pid} \\(node holder\\.mjs, since `));
      assert.match(err.message, /storage\.driver: postgres/);
      return true;
    });
    assert.equal(dataFolderHolder(dataDir)?.pid, holder.pid);
    // The refused process did not remove the holder's lock.
    assert.ok(existsSync(lockFileOf(dataDir)));
  });

  test('a lock left by a killed process is stale: the next process takes the folder over', async () => {
    const holder = children[0]!;
    holder.kill('SIGKILL');
    await exited(holder);
    assert.ok(existsSync(lockFileOf(dataDir)), 'SIGKILL leaves the lock file behind');
    assert.equal(dataFolderHolder(dataDir), undefined);
    const sql = await openSql({ driver: 'pglite', dataDir });
    assert.equal(dataFolderHolder(dataDir)?.pid, process.pid);
    await sql.close();
    assert.equal(existsSync(lockFileOf(dataDir)), false, 'close releases the lock');
  });

  test('a second open in the same process is refused too, and closing the first frees the folder', async () => {
    const first = await openSql({ driver: 'pglite', dataDir });
    await assert.rejects(openSql({ driver: 'pglite', dataDir }), { code: 'GH_STORAGE_LOCKED' });
    await first.close();
    const again = await openSql({ driver: 'pglite', dataDir });
    await again.close();
  });

  test('a lock file with garbage in it (an old, half-written one) does not block the folder', async () => {
    writeFileSync(lockFileOf(dataDir), 'not json');
    const { utimesSync } = await import('node:fs');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFileOf(dataDir), old, old);
    const sql = await openSql({ driver: 'pglite', dataDir });
    await sql.close();
  });
});
