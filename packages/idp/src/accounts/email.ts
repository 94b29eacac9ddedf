import { idpErrors } from '../errors.ts';

export interface Email {
  readonly display: string;
  /** Lower-case form used for uniqueness. */
  readonly key: string;
}

// Deliberately narrower than RFC 5322 (no quoted local parts, no IP literals): addresses people type.
const emailShape =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

export function parseEmail(input: string): Email {
  if (input.length > 254 || !emailShape.test(input)) throw idpErrors.create('IDP_EMAIL_INVALID');
  const local = input.slice(0, input.indexOf('@'));
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    throw idpErrors.create('IDP_EMAIL_INVALID');
  }
  return { display: input, key: input.toLowerCase() };
}
