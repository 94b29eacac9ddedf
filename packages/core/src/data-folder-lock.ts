import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { storageErrors } from './storage-errors.ts';

/**
 * An embedded (PGlite) data folder belongs to one process: two PostgreSQL instances writing the
 * same files corrupt them, and PGlite does not lock the folder itself. The lock is a file beside
 * the folder (`<folder>.lock`, never inside it, where initdb wants an empty folder), created
 * exclusively, holding the owner's pid and command line. A lock whose process is gone (killed,
 * crashed) is stale and taken over.
 */
export interface DataFolderHolder {
  pid: number;
  command: string;
  since: string;
}

export interface DataFolderLock {
  readonly file: string;
  release(): void;
}

export function lockFileOf(dataDir: string): string {
  const folder = resolve(dataDir);
  return join(dirname(folder), `${basename(folder)}.lock`);
}

/** The process holding the folder, if a live one does. */
export function dataFolderHolder(dataDir: string): DataFolderHolder | undefined {
  const holder = readHolder(lockFileOf(dataDir));
  return holder && alive(holder.pid) ? holder : undefined;
}

export function lockDataFolder(dataDir: string): DataFolderLock {
  const file = lockFileOf(dataDir);
  const me: DataFolderHolder = {
    pid: process.pid,
    command: commandLine(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw storageErrors.create('GH_STORAGE_UNAVAILABLE', `cannot lock the data folder: ${file}`, {
          cause: err,
        });
      }
      const holder = readHolder(file);
      if (holder && alive(holder.pid)) {
        throw storageErrors.create(
          'GH_STORAGE_LOCKED',
          `The data folder ${resolve(dataDir)} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}). Stop it first, or ask it: admin verbs take --token and call its admin API. Several processes need storage.driver: postgres.`,
        );
      }
      if (!holder && youngerThan(file, 5000)) {
        // Just created by a process that has not written its pid yet.
        throw storageErrors.create(
          'GH_STORAGE_LOCKED',
          `The data folder ${resolve(dataDir)} is being locked by another process`,
        );
      }
      // Stale (its process is gone) or half-written by a process that died while writing it.
      try {
        unlinkSync(file);
      } catch {
        // Another process took it over first; the next attempt sees its lock.
      }
      continue;
    }
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      // Only our own lock: never remove one another process took over.
      if (readHolder(file)?.pid === process.pid) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    };
    // A process that exits without closing its storage (an uncaught error) still frees the folder.
    process.on('exit', release);
    return { file, release };
  }
  throw storageErrors.create(
    'GH_STORAGE_LOCKED',
    `The data folder ${resolve(dataDir)} is being locked by another process`,
  );
}

function readHolder(file: string): DataFolderHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DataFolderHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      command: typeof parsed.command === 'string' ? parsed.command.slice(0, 200) : 'unknown command',
      since: typeof parsed.since === 'string' ? parsed.since.slice(0, 40) : 'an unknown time',
    };
  } catch {
    return undefined;
  }
}

function youngerThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < ms;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `gatehouse dev`, `node server.ts`: what a person recognises in `ps`. */
function commandLine(): string {
  const script = process.argv[1] ? basename(process.argv[1]) : '';
  const args = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('-'))
    .slice(0, 2);
  const name = script === 'bin.ts' || script === 'gatehouse' ? 'gatehouse' : `node ${script}`.trim();
  return [name, ...args].join(' ');
}
