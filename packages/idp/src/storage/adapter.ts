import type { Logger, Sql } from '@gatehouse/core';
import { errors } from 'oidc-provider';
import { findClientCached } from '../protocol/clients.ts';
import type { GrantRevoker } from './grant-revoker.ts';
import { groupWhileBusy } from './group-while-busy.ts';
import { type AccountReadAhead, currentUnitOfWork, type LoginRead, type UnitOfWork } from './unit-of-work.ts';

/**
 * oidc-provider's storage port (`upsert`, `find`, `findByUserCode`, `findByUid`, `consume`,
 * `destroy`, `revokeByGrantId`) on the SQL layer, for every model, in one table (`idp_oidc_models`)
 * plus the client registry (`idp_clients`).
 *
 * - Expiry: rows past `expires_at` are never returned (sweep-expired.ts deletes them).
 * - Single use across replicas: `consume` is a conditional UPDATE (`consumed_at is null`). Two
 *   replicas redeeming the same code or refresh token at the same moment both see it unconsumed when
 *   they read it; only one UPDATE wins. The loser revokes the whole grant (grant-revoker.ts, as
 *   oidc-provider does when it sees an already consumed code or refresh token) and fails with
 *   `invalid_grant`. Revoking a grant's access tokens also revokes the JWTs recorded for it
 *   (jwt-access-tokens.ts).
 * - Within a token request, a refresh token or code is read together with its grant, its session,
 *   its session's sid revocation and its account (one round trip instead of five; see
 *   `readTogether`), and its consume is committed with the request's other writes. Within an
 *   authorization resume, the interaction is read with the account its login result names, and
 *   upserts and deletes are committed together. Both through the request's unit of work
 *   (unit-of-work.ts), which keeps what was read and what is to be written.
 *
 * The read-ahead counts on the order in which oidc-provider (the version pinned in
 * protocol/oidc-provider-internals.ts) calls the adapter within one request;
 * test/oidc-provider-pin-call-order.test.ts records these sequences and fails when they change:
 * - authorization_code grant: `find` AuthorizationCode(code); `findByUid` Session(its sessionUid),
 *   only for a code bound to its session (one without offline_access); `find` Grant(its grantId);
 *   `consume` of the code; the account store's `findAccount`(its accountId); `upsert` of a refresh
 *   token when one is issued.
 * - refresh_token grant: `find` RefreshToken; `findByUid` Session when the token is bound to its
 *   session; `find` Grant; `findAccount`; `consume` of the token; `upsert` of the rotated one; then
 *   the access token's claims ask whether the session's sid was revoked (provider.ts).
 * - client_credentials grant: no code or token is read, so nothing is read ahead.
 * - authorization resume: `find` Interaction(uid); its `destroy`; `findAccount`(its result's login
 *   accountId); then `find` Grant and the writes of the code and the session.
 * The first `find` reads, in its own statement, what the lookups after it ask for; those take it
 * from the unit of work instead of SQL.
 *
 * When the order differs, every answer is still that of a plain read; only the round trips saved
 * are lost:
 * - a lookup for which nothing was read ahead (it comes before the token's `find`, or asks for
 *   another grant, session or account) reads SQL;
 * - a value read ahead is handed out once, to the first lookup of its key; a second one reads SQL;
 * - a write of a Grant or Session through the adapter within the request (`upsert`, `consume`,
 *   `destroy`, `revokeByGrantId`, the revocation of a detected reuse) drops what was read ahead of
 *   it, so a lookup after the write reads SQL and sees it;
 * - what no lookup takes ends with the request.
 * Not covered: a change made by another request between the read-ahead and the lookup, as with a
 * read made a moment earlier (a grant revoked meanwhile still refuses the request at its commit);
 * accounts and sid revocations, which no token request writes; and a lookup of a row that the
 * token request itself wrote (a consume, a rotated token): those writes are committed after the
 * handler (unit-of-work-middleware.ts), so such a lookup would not see them. oidc-provider makes
 * none: in the sequences above, no row is looked up again once written.
 */

export type AdapterPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: unknown;
};

const entityLabel: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
  PushedAuthorizationRequest: 'pushed authorization request',
};

export interface AdapterOptions {
  sql: Sql;
  grants: GrantRevoker;
  logger: Logger;
  /** How long a client's metadata is cached in this process (ms); 0 disables. Default 5000 (clients.ts). */
  clientCacheMs?: number;
  /**
   * How the account store's rows are read along with a code, refresh token or resumed interaction
   * (unit-of-work.ts); read at each use, as the store may be attached after the adapter is built.
   * Without it (another account store) accounts are only read by `findAccount`.
   */
  accountReadAhead?: () => AccountReadAhead | undefined;
}

/** Models whose token-endpoint lookup is followed by oidc-provider reading their grant. */
const GRANT_BOUND = new Set(['RefreshToken', 'AuthorizationCode']);

/**
 * What a token request reads in the same statement as the refresh token or code it presents:
 * oidc-provider then reads the token's grant, the session a session-bound token or code belongs to
 * (by uid), and a refresh of a session-bound grant asks whether the session's `sid` was revoked
 * (provider.ts), each in a round trip of its own. The request's unit of work keeps them, each handed
 * out once to the first lookup of that grant, session or sid; any other lookup reads SQL. A grant
 * revoked between this read and the request's commit still refuses the request: the rotated token
 * and the JWT record are only stored while the grant exists.
 */
interface ModelRow {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

/** A token or code read with its grant and its session's sid revocation, at position `i` of its group. */
interface ReadAheadRow extends ModelRow {
  i: number;
  grant_id: string | null;
  grant_payload: AdapterPayload | null;
  grant_consumed_at: Date | null;
  session_uid: string | null;
  sid_revoked: boolean;
  session_payload: AdapterPayload | null;
  session_consumed_at: Date | null;
  /** The token's account as the account store reads it ahead (only selected when it does). */
  account?: unknown;
}

interface PendingRead {
  id: string;
  resolve: (row: ReadAheadRow | undefined) => void;
  reject: (err: unknown) => void;
}

/** Most lookups in one grouped read. */
const MAX_GROUPED_READS = 64;

function withConsumed(row: ModelRow): AdapterPayload {
  if (row.consumed_at) row.payload.consumed = Math.floor(row.consumed_at.getTime() / 1000);
  return row.payload;
}

/**
 * The statement of the token requests' grouped reads (see `readTogether`), with `accountColumn` (`, <expr> as
 * account`, or nothing) for the account read ahead.
 */
function groupedReadText(accountColumn: string): string {
  return `select r.i, t.payload, t.consumed_at, t.grant_id, g.payload as grant_payload,
           g.consumed_at as grant_consumed_at, t.payload->>'sessionUid' as session_uid,
           exists (select 1 from idp_revocations v where v.kind = 'sid' and v.value = t.payload->>'sessionUid'
             and v.expires_at > now()) as sid_revoked,
           s.payload as session_payload, s.consumed_at as session_consumed_at${accountColumn}
         from unnest($2::text[]) with ordinality as r(id, i)
         join idp_oidc_models t on t.model = $1 and t.id = r.id
           and (t.expires_at is null or t.expires_at > now())
         left join idp_oidc_models g on g.model = 'Grant' and g.id = t.grant_id
           and (g.expires_at is null or g.expires_at > now())
         left join lateral (select payload, consumed_at from idp_oidc_models
           where model = 'Session' and uid = t.payload->>'sessionUid' and (expires_at is null or expires_at > now())
           limit 1) s on true`;
}
const groupedReadWithoutAccount = groupedReadText('');

/** What oidc-provider calls on an adapter instance (its storage port). */
export interface SqlAdapter {
  readonly model: string;
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/**
 * The adapter class to give oidc-provider as `adapter`. Its return type is named so that declaration
 * files can describe it (a class expression with private members cannot be).
 */
export function createAdapterClass(options: AdapterOptions): new (model: string) => SqlAdapter {
  const { sql, grants, logger } = options;
  const clientCacheMs = options.clientCacheMs ?? 5000;

  /**
   * The read-ahead lookups of concurrent token requests share statements (group-while-busy.ts), one
   * queue per model, as their audit events do (unit-of-work-middleware.ts). Each lookup gets its own row (by
   * position), so nothing is shared between requests; a failed statement fails each of its lookups,
   * as a failed read of its own would.
   */
  const readQueues = new Map<string, (read: PendingRead) => void>();

  /**
   * The text of a statement that reads an account ahead, built once per account store's column
   * function: the same string each time, so the prepared-statement lookups hash no new copy.
   */
  function textFor<F extends (...args: never[]) => string>(
    texts: WeakMap<F, string>,
    column: F,
    build: (column: F) => string,
  ): string {
    let text = texts.get(column);
    if (text === undefined) {
      text = build(column);
      texts.set(column, text);
    }
    return text;
  }
  const groupTexts = new WeakMap<AccountReadAhead['byId'], string>();
  const resumeTexts = new WeakMap<AccountReadAhead['byId'], string>();
  const loginTexts = new WeakMap<LoginRead['column'], string>();

  async function readGroup(
    model: string,
    group: PendingRead[],
    account: AccountReadAhead['byId'] | undefined,
  ): Promise<void> {
    try {
      const rows = await sql.query<ReadAheadRow>(
        account
          ? textFor(groupTexts, account, (c) =>
              groupedReadText(`, ${c("t.payload->>'accountId'")} as account`),
            )
          : groupedReadWithoutAccount,
        [model, group.map((read) => read.id)],
      );
      const byPosition = new Map(rows.map((row) => [Number(row.i), row]));
      for (const [index, read] of group.entries()) read.resolve(byPosition.get(index + 1));
    } catch (err) {
      for (const read of group) read.reject(err);
    }
  }

  /** A token or code with its grant, its session's sid revocation and its account (grouped across requests). */
  function readTogether(model: string, id: string): Promise<ReadAheadRow | undefined> {
    let enqueue = readQueues.get(model);
    if (!enqueue) {
      enqueue = groupWhileBusy<PendingRead>({
        max: MAX_GROUPED_READS,
        flush: (group) => readGroup(model, group, options.accountReadAhead?.()?.byId),
      });
      readQueues.set(model, enqueue);
    }
    const queue = enqueue;
    return new Promise((resolve, reject) => queue({ id, resolve, reject }));
  }

  return class SqlAdapterImpl implements SqlAdapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      if (this.model === 'Client') {
        // Clients are managed through clients.ts (hashed secrets); dynamic registration is off.
        throw new Error('clients are stored through the client registry, not the adapter');
      }
      const work = currentUnitOfWork();
      work?.forgetReadAhead(this.model, id);
      const expires = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : null;
      const params = [
        this.model,
        id,
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expires,
      ];
      const values =
        '($1, $2, $3::jsonb, $4, $5, $6, case when $7::float8 is null then null else now() + make_interval(secs => $7::float8) end)';
      const conflict = `on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
        user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`;
      if (work?.updatesOnly) {
        await work.flushRowWrites(this.model);
        await work.updateIfPresent({
          text: `update idp_oidc_models set payload = $3::jsonb, grant_id = $4, user_code = $5, uid = $6,
             expires_at = case when $7::float8 is null then null else now() + make_interval(secs => $7::float8) end
           where model = $1 and id = $2 and (expires_at is null or expires_at > now()) returning id`,
          params,
        });
        return;
      }
      if (this.model === 'RefreshToken' && payload.grantId) {
        await work?.flushRowWrites();
        // A rotated refresh token is only stored while its grant exists (as a JWT's record is).
        const text = `insert into idp_oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
           select * from (values ${values}) as v
           where exists (select 1 from idp_oidc_models where model = 'Grant' and id = $4)
           ${conflict} returning id`;
        const write = { text, params, mustReturnRow: { refused: () => {}, description: 'grant not found' } };
        if (work?.deferTokenWrite(write)) return;
        const rows = await sql.query(text, params);
        if (rows.length === 0) throw new errors.InvalidGrant('grant not found');
        return;
      }
      const text = `insert into idp_oidc_models (model, id, payload, grant_id, user_code, uid, expires_at)
         values ${values} ${conflict}`;
      if (work && (await work.deferRowWrite(this.model, id, { text, params }))) {
        // The session is the last write of a resume: it commits the resume's writes together.
        if (this.model === 'Session') await work.flushRowWrites();
        return;
      }
      await sql.query(text, params);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client')
        return (await findClientCached(sql, id, clientCacheMs)) as AdapterPayload | undefined;
      const work = currentUnitOfWork();
      if (work?.kind === 'token') {
        if (this.model === 'Grant') {
          const grant = work.takeGrant(id);
          if (grant) return grant.value as AdapterPayload | undefined;
        } else if (GRANT_BOUND.has(this.model)) {
          return this.#withGrant(work, id);
        }
      }
      if (this.model === 'Interaction' && work) {
        if (work.kind === 'resume') {
          const account = options.accountReadAhead?.()?.byId;
          if (account) return this.#interactionWithAccount(work, id, account);
        } else {
          const login = work.loginAccountToRead();
          if (login) return this.#interactionWithLogin(work, id, login);
        }
      }
      return this.#one(work, 'id = $2', id);
    }

    /** The interaction a login form posts to and, in the same statement, the account the form names. */
    async #interactionWithLogin(
      work: UnitOfWork,
      id: string,
      login: LoginRead,
    ): Promise<AdapterPayload | undefined> {
      const text = textFor(
        loginTexts,
        login.column,
        (column) => `select payload, consumed_at, ${column('$3')} as account from idp_oidc_models
         where model = $1 and id = $2 and (expires_at is null or expires_at > now()) limit 1`,
      );
      const rows = await sql.query<ModelRow & { account: unknown }>(text, [this.model, id, login.param]);
      const row = rows[0];
      if (!row) return undefined;
      work.offerLoginAccount(row.account);
      return withConsumed(row);
    }

    /**
     * A resumed interaction and, in the same statement, the account its login result names, which
     * oidc-provider loads next.
     */
    async #interactionWithAccount(
      work: UnitOfWork,
      id: string,
      account: AccountReadAhead['byId'],
    ): Promise<AdapterPayload | undefined> {
      await work.flushRowWrites(this.model);
      const text = textFor(
        resumeTexts,
        account,
        (
          column,
        ) => `select payload, consumed_at, ${column("payload->'result'->'login'->>'accountId'")} as account
         from idp_oidc_models
         where model = $1 and id = $2 and (expires_at is null or expires_at > now()) limit 1`,
      );
      const rows = await sql.query<ModelRow & { account: unknown }>(text, [this.model, id]);
      const row = rows[0];
      if (!row) return undefined;
      const login = (row.payload['result'] as { login?: { accountId?: unknown } } | undefined)?.login;
      if (typeof login?.accountId === 'string') work.offerAccount(login.accountId, row.account);
      return withConsumed(row);
    }

    /**
     * The token or code `id` and, in the same statement, its grant, its session, whether the
     * session's sid is revoked (the check of revocation-publisher.ts) and its account, all kept in
     * the request's unit of work.
     */
    async #withGrant(work: UnitOfWork, id: string): Promise<AdapterPayload | undefined> {
      const row = await readTogether(this.model, id);
      if (!row) return undefined;
      if (row.grant_id) {
        work.offerGrant(
          row.grant_id,
          row.grant_payload
            ? withConsumed({ payload: row.grant_payload, consumed_at: row.grant_consumed_at })
            : undefined,
        );
      }
      const accountId = row.payload['accountId'];
      if (row.account !== undefined && typeof accountId === 'string')
        work.offerAccount(accountId, row.account);
      if (row.session_uid) {
        work.offerSidRevocation(row.session_uid, row.sid_revoked);
        work.offerSession(
          row.session_uid,
          row.session_payload
            ? withConsumed({ payload: row.session_payload, consumed_at: row.session_consumed_at })
            : undefined,
        );
      }
      return withConsumed(row);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.#one(currentUnitOfWork(), 'user_code = $2', userCode);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const work = currentUnitOfWork();
      if (this.model === 'Session' && work?.kind === 'token') {
        const session = work.takeSession(uid);
        if (session) return session.value as AdapterPayload | undefined;
      }
      return this.#one(work, 'uid = $2', uid);
    }

    async #one(
      work: UnitOfWork | undefined,
      where: string,
      value: string,
    ): Promise<AdapterPayload | undefined> {
      // A lookup within a resume sees the resume's own writes of this model.
      await work?.flushRowWrites(this.model);
      const rows = await sql.query<ModelRow>(
        `select payload, consumed_at from idp_oidc_models
         where model = $1 and ${where} and (expires_at is null or expires_at > now()) limit 1`,
        [this.model, value],
      );
      const row = rows[0];
      return row && withConsumed(row);
    }

    async consume(id: string): Promise<void> {
      const work = currentUnitOfWork();
      work?.forgetReadAhead(this.model, id);
      await work?.flushRowWrites();
      const text =
        'update idp_oidc_models set consumed_at = now() where model = $1 and id = $2 and consumed_at is null returning id';
      const params = [this.model, id];
      const description = `${entityLabel[this.model] ?? this.model} already consumed`;
      // Another request consumed it between our read and this update: treat it as reuse.
      const reuse = async () => {
        const rows = await sql.query<{ grant_id: string | null }>(
          'select grant_id from idp_oidc_models where model = $1 and id = $2',
          [this.model, id],
        );
        const grantId = rows[0]?.grant_id;
        if (grantId) {
          work?.forgetReadAhead('Grant', grantId);
          await grants.revokeGrant(grantId);
        }
        logger.warn({ model: this.model, grantId }, 'concurrent reuse detected: grant revoked');
      };
      // A refresh token or code is consumed in the token request's one statement.
      if (
        GRANT_BOUND.has(this.model) &&
        work?.deferTokenWrite({ text, params, mustReturnRow: { refused: reuse, description } })
      )
        return;
      const won = await sql.query(text, params);
      if (won.length > 0) return;
      await reuse();
      throw new errors.InvalidGrant(description);
    }

    async destroy(id: string): Promise<void> {
      const text = 'delete from idp_oidc_models where model = $1 and id = $2';
      const params = [this.model, id];
      const work = currentUnitOfWork();
      work?.forgetReadAhead(this.model, id);
      if (work && (await work.deferRowWrite(this.model, id, { text, params }))) return;
      await sql.query(text, params);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const work = currentUnitOfWork();
      // The rows go by their grant, not by id: all of this model read ahead is dropped.
      work?.forgetReadAhead(this.model);
      await work?.flushRowWrites();
      await sql.query('delete from idp_oidc_models where model = $1 and grant_id = $2', [
        this.model,
        grantId,
      ]);
      if (this.model === 'AccessToken') await grants.revokeGrantJwts(grantId);
    }
  };
}
