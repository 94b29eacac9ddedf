import type { Principal } from '@gatehouse/sdk';
import { beepErrors } from './errors.ts';

/** The person's name as the permission store knows them (`user:<username>`). */
export function userOf(principal: Principal): string {
  const username = principal.claims['username'];
  if (principal.kind !== 'user' || typeof username !== 'string')
    throw beepErrors.create('BEEP_USER_REQUIRED');
  return `user:${username}`;
}
