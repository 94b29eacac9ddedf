import { constants } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { PemPair } from './dev-ca.ts';

/**
 * Where `gatehouse certs` keeps its files: `<dir>/ca.crt` + `<dir>/ca.key` for the CA, and
 * `<dir>/<name>.crt` + `<dir>/<name>.key` per service. Keys are written with mode 0600 (never
 * widened by the umask), and no file is replaced unless asked: overwriting a CA key silently would
 * orphan every certificate it signed.
 */

export const CA_NAME = 'ca';
/** A service name is also a file name: no path separators, no dot files. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export class CertFileExistsError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`${path} already exists (use --force to replace it)`);
    this.path = path;
  }
}

export function certPaths(dir: string, name: string): { cert: string; key: string } {
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

async function writeNew(path: string, data: string, mode: number, force: boolean): Promise<void> {
  if (force)
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_EXCL: never follow a planted symlink or truncate someone else's file.
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CertFileExistsError(path);
    throw err;
  }
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/** Write a certificate (0644) and its key (0600) as `<dir>/<name>.crt|.key`. */
export async function writePair(
  dir: string,
  name: string,
  pair: PemPair,
  force = false,
): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = certPaths(dir, name);
  if (!force) {
    // Check both before writing either, so a refusal leaves nothing half-made.
    for (const p of [paths.cert, paths.key]) {
      const exists = await readFile(p).then(
        () => true,
        () => false,
      );
      if (exists) throw new CertFileExistsError(p);
    }
  }
  await writeNew(paths.key, pair.key, 0o600, force);
  await writeNew(paths.cert, pair.cert, 0o644, force);
  return paths;
}

export async function readPair(dir: string, name: string): Promise<PemPair> {
  const paths = certPaths(dir, name);
  return { cert: await readFile(paths.cert, 'utf8'), key: await readFile(paths.key, 'utf8') };
}
