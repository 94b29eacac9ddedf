import { readFileSync } from 'node:fs';
import { idpErrors } from '../errors.ts';

/**
 * Password rules of NIST SP 800-63B §3.1.1.2 (revision 4): a length window, a blocklist, no
 * composition rules (no "one digit and one symbol"), no periodic expiry. Passwords are compared
 * after NFKC normalization, which is also the form that is hashed, so `ｐａｓｓ` and `pass` are one
 * password.
 */
export const passwordMinLength = 8;
/** NIST asks for at least 64; 128 leaves room for passphrases and keeps hashing input bounded. */
export const passwordMaxLength = 128;

let commonPasswords: ReadonlySet<string> | undefined;

function commonList(): ReadonlySet<string> {
  commonPasswords ??= new Set(
    readFileSync(new URL('../../data/common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean),
  );
  return commonPasswords;
}

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export interface PasswordCheckOptions {
  /** Lower-case username key: a password containing it is refused. */
  usernameKey?: string;
  /** Skip the blocklist and the username rule: development demo fixtures only (`alice-password`). */
  allowCommon?: boolean;
}

/** Throw the first rule the password breaks (IDP_PASSWORD_*). */
export function checkPassword(password: string, options: PasswordCheckOptions = {}): void {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < passwordMinLength) throw idpErrors.create('IDP_PASSWORD_TOO_SHORT');
  if (length > passwordMaxLength) throw idpErrors.create('IDP_PASSWORD_TOO_LONG');
  if (options.allowCommon) return;
  const lower = normalized.toLowerCase();
  const name = options.usernameKey;
  // A short name (`bob`) is refused only as the whole password, else `bobsleigh` would be refused too.
  if (name && (lower === name || (name.length >= 4 && lower.includes(name)))) {
    throw idpErrors.create('IDP_PASSWORD_CONTAINS_USERNAME');
  }
  if (commonList().has(lower) || isRepetitive(lower) || isSequential(lower)) {
    throw idpErrors.create('IDP_PASSWORD_COMMON');
  }
}

/** One character repeated, or a short block repeated (`abcabcabc`). */
function isRepetitive(p: string): boolean {
  const chars = [...p];
  for (let block = 1; block <= 3; block++) {
    if (chars.length % block !== 0 || chars.length / block < 3) continue;
    const unit = chars.slice(0, block).join('');
    if (unit.repeat(chars.length / block) === p) return true;
  }
  return false;
}

/** Every character one code point above (or below) the previous one: `abcdefgh`, `98765432`. */
function isSequential(p: string): boolean {
  const codes = [...p].map((c) => c.codePointAt(0)!);
  const step = codes[1]! - codes[0]!;
  if (step !== 1 && step !== -1) return false;
  return codes.every((c, i) => i === 0 || c - codes[i - 1]! === step);
}
