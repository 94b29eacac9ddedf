import { sdkError } from './errors.ts';

// The framework integrations are optional peer dependencies: a service installs the one it uses.
// Their entry points check for it first, so a missing framework fails at import with the name of the
// package to install instead of a resolution error from deep inside the sdk.

function missing(name: string, entry: string, cause: unknown): Error {
  return sdkError(
    'SDK_PEER_MISSING',
    `${entry} needs the package "${name}", which is not installed: npm install ${name}`,
    { cause },
  );
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'ERR_MODULE_NOT_FOUND';
}

/** Fails when `name` cannot be resolved from the sdk (for entry points that use only its types). */
export function requirePeer(name: string, entry: string): void {
  // Node.js before 20.6 has no synchronous import.meta.resolve: no early check there.
  if (typeof import.meta.resolve !== 'function') return;
  try {
    import.meta.resolve(name);
  } catch (err) {
    throw isNotFound(err) ? missing(name, entry, err) : err;
  }
}

/** Loads `name`, or fails naming the package to install. */
export async function importPeer<T>(name: string, entry: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if (isNotFound(err) && (err as Error).message.includes(`'${name}'`)) throw missing(name, entry, err);
    throw err;
  }
}
