import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { idpErrors } from '../errors.ts';

/**
 * Second-factor secrets encrypted at rest the way keys.ts protects signing keys: AES-256-GCM with a
 * key derived from `idp.keyEncryptionSecret` by HKDF-SHA256 (its own `info`, so the two keys are
 * independent), the account id as authenticated data so that a row copied onto another account does
 * not decrypt. Layout: iv (12) || tag (16) || ciphertext.
 */
function boxKey(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, 'gatehouse-idp', 'totp-secret-encryption/aes-256-gcm/v1', 32),
  );
}

export function sealSecret(clear: string, accountId: string, keyEncryptionSecret: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey(keyEncryptionSecret), iv);
  cipher.setAAD(Buffer.from(accountId));
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function openSecret(sealed: Buffer, accountId: string, keyEncryptionSecret: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', boxKey(keyEncryptionSecret), sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(accountId));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw idpErrors.create('IDP_KEY_DECRYPT_FAILED', 'A second-factor secret cannot be decrypted', { cause });
  }
}
