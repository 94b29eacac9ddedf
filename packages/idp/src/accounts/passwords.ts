import { hash, parseOptions, verify } from '@node-rs/argon2';
import { normalizePassword } from './password-policy.ts';

/** argon2id parameters. The floor is OWASP's first recommendation: m=19 MiB, t=2, p=1. */
export interface HashParameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const defaultHashParameters: HashParameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

// @node-rs/argon2 declares Algorithm as a const enum, which erasable TypeScript cannot reference.
const argon2id = 2;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** True when `stored` was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(stored: string): boolean;
  /** Spend the same time as verify() for an account that does not exist. */
  verifyDummy(password: string): Promise<void>;
}

export function createPasswordHasher(params: HashParameters = defaultHashParameters): PasswordHasher {
  const options = { ...params, algorithm: argon2id as never };
  // A hash made with the current parameters (PHC string format, argon2 version 0x13: parameters,
  // then the salt and the hash in unpadded base64) needs no rehash; any other goes through
  // parseOptions, a native call on the event loop.
  const current = new RegExp(
    `^\\$argon2id\\$v=19\\$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}\\$[A-Za-z0-9+/]+\\$[A-Za-z0-9+/]+$`,
  );
  let dummy: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    hash: (password) => hash(normalizePassword(password), options),
    async verify(stored, password) {
      try {
        return await verify(stored, normalizePassword(password));
      } catch {
        // A malformed stored hash must never let anyone in, nor crash the login.
        return false;
      }
    },
    needsRehash(stored) {
      if (current.test(stored)) return false;
      try {
        const used = parseOptions(stored);
        return (
          used.algorithm !== argon2id ||
          used.memoryCost !== params.memoryCost ||
          used.timeCost !== params.timeCost ||
          used.parallelism !== params.parallelism
        );
      } catch {
        return true;
      }
    },
    async verifyDummy(password) {
      dummy ??= hash('gatehouse-dummy-password', options);
      await hasher.verify(await dummy, password);
    },
  };
  return hasher;
}
