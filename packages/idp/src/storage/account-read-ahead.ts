import { AsyncLocalStorage } from 'node:async_hooks';
import { currentResume } from './resume-write-batch.ts';
import { takeOnce } from './take-once.ts';
import { currentTokenRequest } from './write-batch.ts';

/**
 * An account read in the same statement as the protocol row that names it (adapter.ts): the code or
 * refresh token of a token request, the interaction of an authorization resume. oidc-provider asks
 * for that account right after (the grant's account, the session's account), which was one more
 * round trip and statement per request. Likewise the account a login form names, read with the
 * interaction the form posts to (`withLoginReadAhead`). What was read is handed out once, to the first lookup of that
 * account id in the same request (accounts.ts `findAccount`); any other lookup reads SQL. Nothing
 * outlives the request: a disabled account or a changed role takes effect from the next request
 * on, as before.
 */

/**
 * The SQL expression (one json value, or null when there is no such account) an account store reads
 * an account with, given the SQL text expression of its id. Given by the account store
 * (accounts.ts), whose `findAccount` takes what was read.
 */
export type AccountReadAheadColumn = (idText: string) => string;

const offered = new WeakMap<object, Map<string, unknown>>();

function currentRequest(): object | undefined {
  return currentTokenRequest() ?? currentResume();
}

/** Keep what was read for account `accountId` (a json value or null) for the current request. */
export function offerAccountReadAhead(accountId: string, value: unknown): void {
  const request = currentRequest();
  if (!request) return;
  let accounts = offered.get(request);
  if (!accounts) {
    accounts = new Map();
    offered.set(request, accounts);
  }
  accounts.set(accountId, value);
}

/** What was read ahead for `accountId` in the current request (once), or undefined when nothing was. */
export function takeAccountReadAhead(accountId: string): { value: unknown } | undefined {
  const request = currentRequest();
  return takeOnce(request && offered.get(request), accountId);
}

/**
 * The account a login form names, read in the statement that reads the interaction it posts to
 * (interactions.ts → adapter.ts → accounts.ts): `column` is the SQL expression (one json value, or
 * null) given the placeholder of `param`, as the account store builds it for the typed name.
 */
export interface LoginReadAhead {
  column: (placeholder: string) => string;
  param: string;
}

interface LoginReadAheadState extends LoginReadAhead {
  /** Set once the interaction was read: what the statement gave for the account. */
  read?: { value: unknown } | undefined;
  asked: boolean;
}

const loginReads = new AsyncLocalStorage<LoginReadAheadState>();

/** Run `fn` (a login post) so that its first interaction read also reads `read`'s account. */
export function withLoginReadAhead<T>(read: LoginReadAhead | undefined, fn: () => Promise<T>): Promise<T> {
  if (!read) return fn();
  return loginReads.run({ ...read, asked: false }, fn);
}

/** For the adapter: the login account to read with the interaction, once per login post. */
export function loginReadAheadToRead(): LoginReadAhead | undefined {
  const state = loginReads.getStore();
  if (!state || state.asked) return undefined;
  state.asked = true;
  return state;
}

/** For the adapter: what the interaction's statement read for the login's account. */
export function offerLoginReadAhead(value: unknown): void {
  const state = loginReads.getStore();
  if (state) state.read = { value };
}

/** For the account store: what was read ahead for the name `param` in this login post (once), if anything. */
export function takeLoginReadAhead(param: string): { value: unknown } | undefined {
  const state = loginReads.getStore();
  if (!state?.read || state.param !== param) return undefined;
  const read = state.read;
  state.read = undefined;
  return read;
}
