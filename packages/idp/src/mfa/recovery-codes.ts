import { createHash, randomBytes } from 'node:crypto';

/**
 * Recovery codes: ten per enrolment, shown once, stored as SHA-256 digests, each usable once.
 *
 * Each code is 80 random bits (16 base32 characters, shown in groups of four). A plain SHA-256 is
 * enough here: a slow hash (argon2id) protects low-entropy secrets such as passwords from guessing
 * after a database leak, but guessing one 80-bit code from its digest costs 2^79 hashes on average,
 * whatever the hash's speed. A fast digest also lets a login look a code up by its digest.
 */
export const RECOVERY_CODE_COUNT = 10;
const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    let bits = 0n;
    for (const b of bytes) bits = (bits << 8n) | BigInt(b);
    let code = '';
    for (let i = 0; i < 16; i++) code += alphabet[Number((bits >> BigInt(75 - i * 5)) & 31n)];
    return code.match(/.{4}/g)!.join('-');
  });
}

/** What a person types, as the stored form: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

export function hashRecoveryCode(input: string): string {
  return createHash('sha256').update(normalizeRecoveryCode(input), 'utf8').digest('hex');
}
