import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@gatehouse/core';
import {
  AndFilter,
  Client,
  type Entry,
  EqualityFilter,
  type Filter,
  FilterParser,
  InvalidCredentialsError,
  ResultCodeError,
  SizeLimitExceededError,
} from 'ldapts';
import { idpErrors } from '../errors.ts';
import type { DirectoryConfig } from './directory-config.ts';

/**
 * The LDAP side of directory sign-in, on `ldapts`: find a user entry with the service account,
 * check a password by binding as the entry, read its groups.
 *
 * - The typed username only ever reaches the directory inside an `EqualityFilter`, which BER-encodes
 *   the value as an assertion: `*`, `(`, `)`, `\` and NUL are data, never filter syntax (RFC 4515).
 * - An empty password is refused before any bind: LDAP treats a simple bind with a DN and no password
 *   as an unauthenticated bind that succeeds (RFC 4513 §5.1.2).
 * - At most `poolSize` connections. A connection is used by one operation at a time and thrown away
 *   on any error that is not an LDAP result, and when the directory closed it: ldapts would reconnect
 *   it silently, without StartTLS.
 * - Anything but an LDAP answer (refused connection, timeout, TLS failure, a full pool for longer
 *   than `timeoutMs`) is IDP_DIRECTORY_UNAVAILABLE. Passwords are never logged.
 */
export interface DirectoryEntry {
  dn: string;
  username: string;
  email: string | undefined;
  name: string | undefined;
  /** entryUUID when the directory keeps one (it survives renames). */
  externalId: string | undefined;
  /** Why the directory says the entry may not sign in, or undefined. */
  disabled: string | undefined;
  /** DNs of the entry's groups. */
  groups: string[];
}

export interface LdapDirectory {
  /** The entry of `username`, or undefined when the directory has none (or more than one). */
  findUser(username: string): Promise<DirectoryEntry | undefined>;
  /** Whether `password` is the entry's: a bind as `dn`. */
  checkPassword(dn: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

interface Connection {
  client: Client;
  /** Who the connection is bound as: a user bind must be followed by a service bind before a search. */
  boundAs: 'service' | 'user' | 'anonymous';
}

function first(value: Entry[string] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

function all(value: Entry[string] | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** The entry found by the filter is the only thing bound: a DN with control characters is refused. */
const controlCharacter = /[\u0000-\u001f\u007f]/;

export function createLdapDirectory(config: DirectoryConfig, logger: Logger): LdapDirectory {
  const url = config.url!;
  const host = new URL(url.replace(/^ldaps?:/, 'http:')).hostname;
  const tlsOptions: ConnectionOptions = {
    // SNI takes names only (RFC 6066); an IP address is still checked against the certificate's IP SANs.
    ...(config.tls.serverName || !isIP(host) ? { servername: config.tls.serverName ?? host } : {}),
    minVersion: 'TLSv1.2',
    ...(config.tls.caFile ? { ca: readFileSync(config.tls.caFile) } : {}),
  };
  const userFilter = FilterParser.parseString(config.userSearch.filter);
  const groupFilter = FilterParser.parseString(config.groups.filter);
  const disabledFilter = config.disabledFilter ? FilterParser.parseString(config.disabledFilter) : undefined;
  const { attributes } = config;

  const idle: Connection[] = [];
  const waiting: Array<(c: Connection | Error) => void> = [];
  let open = 0;
  let closed = false;

  const unavailable = (cause: unknown, what: string) => {
    logger.warn(
      { err: { message: (cause as Error)?.message, code: (cause as { code?: unknown })?.code }, what },
      'directory unavailable',
    );
    return idpErrors.create('IDP_DIRECTORY_UNAVAILABLE', undefined, { cause });
  };

  async function connect(): Promise<Connection> {
    const client = new Client({
      url,
      timeout: config.timeoutMs,
      connectTimeout: config.connectTimeoutMs,
      ...(url.startsWith('ldaps:') ? { tlsOptions } : {}),
      strictDN: true,
    });
    if (config.startTls) await client.startTLS(tlsOptions);
    return { client, boundAs: 'anonymous' };
  }

  function destroy(conn: Connection): void {
    open--;
    conn.client.unbind().catch(() => {});
    const next = waiting.shift();
    if (next) {
      open++;
      connect().then(next, (err: Error) => {
        open--;
        next(err);
      });
    }
  }

  async function acquire(): Promise<Connection> {
    if (closed) throw idpErrors.create('IDP_DIRECTORY_UNAVAILABLE', 'The directory client is closed');
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (conn.client.isConnected) return conn;
      // Closed by the directory while idle: never let ldapts reconnect it on its own.
      open--;
    }
    if (open < config.poolSize) {
      open++;
      try {
        return await connect();
      } catch (err) {
        open--;
        throw err;
      }
    }
    return new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiting.indexOf(hand);
        if (i >= 0) waiting.splice(i, 1);
        reject(new Error('every directory connection stayed busy'));
      }, config.timeoutMs);
      const hand = (c: Connection | Error) => {
        clearTimeout(timer);
        if (c instanceof Error) reject(c);
        else resolve(c);
      };
      waiting.push(hand);
    });
  }

  function release(conn: Connection): void {
    const next = waiting.shift();
    if (next) next(conn);
    else if (closed) destroy(conn);
    else idle.push(conn);
  }

  /** Run `fn` on a pooled connection; a failure that is not an LDAP result drops it and is IDP_DIRECTORY_UNAVAILABLE. */
  async function withConnection<T>(what: string, fn: (conn: Connection) => Promise<T>): Promise<T> {
    let conn: Connection;
    try {
      conn = await acquire();
    } catch (err) {
      throw unavailable(err, what);
    }
    try {
      const result = await fn(conn);
      release(conn);
      return result;
    } catch (err) {
      if (err instanceof ResultCodeError) {
        release(conn);
        throw err;
      }
      destroy(conn);
      throw unavailable(err, what);
    }
  }

  async function asService(conn: Connection): Promise<void> {
    if (conn.boundAs === 'service') return;
    if (config.bindDn) {
      await conn.client.bind(config.bindDn, config.bindPassword);
      conn.boundAs = 'service';
    } else if (conn.boundAs === 'user') {
      // An anonymous bind resets the identity of a connection a user bound.
      await conn.client.bind('', '');
      conn.boundAs = 'anonymous';
    }
  }

  async function groupsOf(conn: Connection, entry: Entry): Promise<string[]> {
    if (config.groups.mode === 'none') return [];
    if (config.groups.mode === 'memberOf') return all(entry['memberOf']);
    const { searchEntries } = await conn.client.search(config.groups.base!, {
      scope: 'sub',
      filter: new AndFilter({
        filters: [
          groupFilter,
          new EqualityFilter({ attribute: config.groups.memberAttribute, value: entry.dn }),
        ],
      }),
      attributes: ['1.1'],
      sizeLimit: 1000,
    });
    return searchEntries.map((g) => g.dn);
  }

  async function matches(conn: Connection, dn: string, filter: Filter): Promise<boolean> {
    const { searchEntries } = await conn.client.search(dn, { scope: 'base', filter, attributes: ['1.1'] });
    return searchEntries.length > 0;
  }

  return {
    async findUser(username) {
      return withConnection('search', async (conn) => {
        try {
          await asService(conn);
        } catch (err) {
          // The service account is refused: configuration, not a person's mistake.
          if (err instanceof ResultCodeError) {
            logger.error({ code: err.code }, 'directory refused the service bind (idp.directory.bindDn)');
            throw new Error('service bind refused');
          }
          throw err;
        }
        let entries: Entry[];
        try {
          ({ searchEntries: entries } = await conn.client.search(config.userSearch.base!, {
            scope: config.userSearch.scope,
            filter: new AndFilter({
              filters: [userFilter, new EqualityFilter({ attribute: attributes.username, value: username })],
            }),
            attributes: [
              attributes.username,
              attributes.email,
              attributes.name,
              'memberOf',
              'entryUUID',
              'pwdAccountLockedTime',
            ],
            sizeLimit: 2,
          }));
        } catch (err) {
          if (err instanceof SizeLimitExceededError) entries = [{ dn: '' }, { dn: '' }];
          else throw err;
        }
        if (entries.length !== 1) {
          if (entries.length > 1)
            logger.warn({ count: entries.length }, 'directory has several entries for one username');
          return undefined;
        }
        const entry = entries[0]!;
        const name = first(entry[attributes.username]);
        if (!name || controlCharacter.test(entry.dn)) return undefined;
        let disabled: string | undefined;
        if (first(entry['pwdAccountLockedTime']) !== undefined)
          disabled = 'locked in the directory (pwdAccountLockedTime)';
        else if (disabledFilter && (await matches(conn, entry.dn, disabledFilter)))
          disabled = 'disabled in the directory (disabledFilter)';
        return {
          dn: entry.dn,
          username: name,
          email: first(entry[attributes.email]),
          name: first(entry[attributes.name]),
          externalId: first(entry['entryUUID']),
          disabled,
          groups: await groupsOf(conn, entry),
        };
      });
    },

    async checkPassword(dn, password) {
      if (password === '') return false;
      return withConnection('bind', async (conn) => {
        try {
          conn.boundAs = 'user';
          await conn.client.bind(dn, password);
          return true;
        } catch (err) {
          if (err instanceof InvalidCredentialsError) return false;
          // Other LDAP answers to a bind (unwilling to perform, inappropriate authentication) refuse it too.
          if (err instanceof ResultCodeError) return false;
          throw err;
        }
      });
    },

    async close() {
      closed = true;
      for (const hand of waiting.splice(0)) hand(new Error('directory client closed'));
      for (const conn of idle.splice(0)) {
        open--;
        await conn.client.unbind().catch(() => {});
      }
    },
  };
}
