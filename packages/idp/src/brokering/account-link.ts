import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { cookieValue } from '@gatehouse/core';

/**
 * A link started on the account page (account/account-page.ts) is bound to the browser that started
 * it by a cookie only that browser holds, scoped to the broker callback: the pending link keeps the
 * cookie's digest, and the callback links only when the cookie it brings has that digest. (A link
 * started through the session API is bound to its first-party session instead.)
 */
export const ACCOUNT_LINK_COOKIE = 'gatehouse_account_link';
const PREFIX = 'account:';

const digest = (nonce: string) => createHash('sha256').update(nonce).digest('base64url');

/** What the pending link keeps in place of a session id. */
export function accountLinkBinding(nonce: string): string {
  return `${PREFIX}${digest(nonce)}`;
}

export function isAccountLinkBinding(binding: string): boolean {
  return binding.startsWith(PREFIX);
}

/** Whether the callback request brings the cookie of this binding. */
export function accountLinkMatches(req: IncomingMessage, binding: string): boolean {
  const nonce = cookieValue(req.headers.cookie, ACCOUNT_LINK_COOKIE);
  if (!nonce || !isAccountLinkBinding(binding)) return false;
  const expected = Buffer.from(binding.slice(PREFIX.length));
  const actual = Buffer.from(digest(nonce));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
