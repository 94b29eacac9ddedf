import type { Logger, Sql } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import type { PasswordDirectory } from '../directory/directory-sign-in.ts';
import { idpErrors } from '../errors.ts';
import { currentUnitOfWork } from '../storage/unit-of-work.ts';
import { userRowFromReadAhead } from './account-read-ahead-sql.ts';
import {
  type AccountRows,
  accountWithRoles,
  impossibleName,
  secondFactorColumn,
  toAccount,
  toAccountWithRoles,
  type UserRow,
  userColumns,
} from './account-rows.ts';
import type { Account, AccountWithRoles, LoginSource } from './accounts.ts';
import type { BruteForceGuard } from './brute-force.ts';
import type { PasswordHasher } from './passwords.ts';
import { usernameKey } from './username.ts';

export interface PasswordLoginOptions {
  hasher: PasswordHasher;
  guard: BruteForceGuard;
  audit: Audit;
  logger?: Logger | undefined;
  directory?: PasswordDirectory | undefined;
  rows: Pick<AccountRows, 'rowWithRolesById'>;
}

/**
 * Password login: the local password check or the directory's, brute-force accounting, the rehash
 * of an outdated hash, and the audit trail. `readRoles` says whether the caller needs the roles
 * (`authenticate`) or only who signed in (`verifyCredentials`).
 */
export type SignIn = (
  username: string,
  password: string,
  source: LoginSource,
  readRoles: boolean,
) => Promise<Account | AccountWithRoles>;

export function createPasswordLogin(sql: Sql, options: PasswordLoginOptions): SignIn {
  const { hasher, guard, audit, logger, directory, rows } = options;

  /** The user a login names, with the password hash: what the login post read ahead, or one statement. */
  async function rowByUsername(username: string): Promise<UserRow | undefined> {
    if (impossibleName(username)) return undefined;
    const readAhead = currentUnitOfWork()?.takeLoginAccount(usernameKey(username));
    if (readAhead) return userRowFromReadAhead(readAhead.value);
    const found = await sql.query<UserRow>(
      `select ${userColumns}, ${secondFactorColumn('idp_users.id')} as second_factor
       from idp_users where username_key = $1`,
      [usernameKey(username)],
    );
    return found[0];
  }

  /** The roles are read only when asked for. */
  async function signIn(
    username: string,
    password: string,
    source: LoginSource,
    readRoles: boolean,
  ): Promise<Account | AccountWithRoles> {
    const subject = { usernameKey: usernameKey(username.slice(0, 256)), ip: source.ip };
    const fail = async (reason: string, accountId: string | null) => {
      const { locked } = await guard.recordFailure(subject);
      await audit.record({
        type: locked ? 'login.locked' : 'login.failed',
        actor: accountId,
        subject: accountId,
        clientId: source.clientId,
        sourceIp: source.ip,
        // The typed name is kept only when no account matched it, cut short: it may be a password typed in the wrong field.
        details: { reason, via: source.via, ...(accountId ? {} : { username: username.slice(0, 64) }) },
      });
      return idpErrors.create('IDP_INVALID_CREDENTIALS');
    };
    try {
      await guard.check(subject);
    } catch (err) {
      await audit.record({
        type: 'login.failed',
        clientId: source.clientId,
        sourceIp: source.ip,
        details: { reason: (err as { code?: string }).code, via: source.via },
      });
      throw err;
    }
    // Oversized input is refused after the same argon2 work as any other failure.
    // The roles are read only once the password is right: a wrong password for an existing name
    // and an unknown name cost the same statements, and failed guesses never read them.
    const row = password.length <= 1024 ? await rowByUsername(username) : undefined;
    if (directory && (!row?.password_hash || directory.precedence === 'directory-first')) {
      const id = await directorySignIn(username, password, source, row, fail);
      if (id !== undefined) return finishSignIn(subject, source, id, readRoles);
    }
    if (!row?.password_hash) {
      await hasher.verifyDummy(password.slice(0, 1024));
      throw await fail(row ? 'no local password' : 'unknown account', row?.id ?? null);
    }
    const ok = await hasher.verify(row.password_hash, password);
    if (!ok) throw await fail('wrong password', row.id);
    if (!row.enabled) throw await fail('account disabled', row.id);
    await guard.recordSuccess(subject);
    if (hasher.needsRehash(row.password_hash)) {
      // The password is at hand only now: upgrade the stored hash to the current parameters.
      const fresh = await hasher.hash(password);
      await sql.query('update idp_users set password_hash = $2 where id = $1 and password_hash = $3', [
        row.id,
        fresh,
        row.password_hash,
      ]);
      logger?.info({ accountId: row.id }, 'password rehashed with current parameters');
    }
    const account = readRoles ? await accountWithRoles(sql, row) : toAccount(row);
    await audit.record({
      type: 'login.succeeded',
      actor: row.id,
      subject: row.id,
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { via: source.via },
    });
    return account;
  }

  /**
   * The directory's part of a password login: the signed-in account's id, or undefined when the
   * local account of that name answers instead (the directory has no such user, or cannot answer for
   * a name with a local password). A directory outage is IDP_DIRECTORY_UNAVAILABLE for anyone else:
   * audited, not counted as a failed guess.
   */
  async function directorySignIn(
    username: string,
    password: string,
    source: LoginSource,
    row: UserRow | undefined,
    fail: (reason: string, accountId: string | null) => Promise<Error>,
  ): Promise<string | undefined> {
    let verdict: Awaited<ReturnType<PasswordDirectory['signIn']>>;
    try {
      verdict = await directory!.signIn(username, password);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'IDP_DIRECTORY_UNAVAILABLE' && row?.password_hash) return undefined;
      await audit.record({
        type: 'login.failed',
        actor: row?.id ?? null,
        subject: row?.id ?? null,
        clientId: source.clientId,
        sourceIp: source.ip,
        details: {
          reason: code === 'IDP_DIRECTORY_UNAVAILABLE' ? 'directory unavailable' : code,
          via: source.via,
        },
      });
      throw err;
    }
    if (verdict.outcome === 'no-entry') return undefined;
    if (verdict.outcome === 'refused') {
      // The argon2 work an unknown name costs, so that timing does not tell directory users apart.
      await hasher.verifyDummy(password.slice(0, 1024));
      throw await fail(verdict.reason, verdict.accountId);
    }
    return verdict.accountId;
  }

  /** A directory login's end: the same success accounting and audit as a local one. */
  async function finishSignIn(
    subject: { usernameKey: string; ip: string },
    source: LoginSource,
    accountId: string,
    readRoles: boolean,
  ): Promise<Account | AccountWithRoles> {
    await guard.recordSuccess(subject);
    const full = await rows.rowWithRolesById(accountId);
    if (!full) throw idpErrors.create('IDP_INVALID_CREDENTIALS');
    await audit.record({
      type: 'login.succeeded',
      actor: accountId,
      subject: accountId,
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { via: source.via, source: 'directory' },
    });
    return readRoles ? toAccountWithRoles(full, full) : toAccount(full);
  }

  return signIn;
}
