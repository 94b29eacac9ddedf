import { type Logger, requestUnitOfWork, runInUnitOfWork, type Sql } from '@gatehouse/core';
import { auditBacklogFor } from '../audit/audit-backlog.ts';
import { asOneStatement, type BatchedWrite, commitAsOneStatement } from './one-statement.ts';
import { takeOnce } from './take-once.ts';

/**
 * The storage work of one request: what it writes, and what it read ahead, kept on one object that
 * the request's entry opens (unit-of-work-middleware.ts for oidc-provider's routes, interactions.ts
 * for the hosted pages) and that the adapter, the account store, the audit trail and the hosted
 * pages reach through plain methods. oidc-provider calls its adapter without passing our objects, so
 * the unit of work travels in core's request context (`runInUnitOfWork`), the one async-context
 * slot of the process; nothing here outlives its request.
 *
 * What a request does with it depends on its kind:
 * - `token` (POST to the token endpoint): the protocol writes (consume the code or refresh token,
 *   store the rotated one, record the JWT access token) and the audit events are collected
 *   (`deferTokenWrite`, `deferAudit`) and committed by the middleware in one statement after
 *   oidc-provider built the answer and before it leaves. The code or refresh token is read with its
 *   grant, its session, the session's sid revocation and its account; oidc-provider's next lookups
 *   of those take what was read (`take…`), once each.
 * - `resume` (GET of the authorization endpoint's `/:uid`): the adapter's upserts and deletes are
 *   collected (`deferRowWrite`) and stored as one statement with the session, the last write; any
 *   other adapter operation commits them first (`flushRowWrites`), so the request reads what it
 *   wrote. The interaction is read with the account its login result names.
 * - `interaction` (the hosted pages): the login post reads the account the form names with the
 *   interaction (`readAccountWithInteraction`), holds back the audit events of the password check
 *   (`holdAuditWrites`) and stores them in the statement that stores the result on the interaction
 *   while it still exists (`saveIfPresent`).
 * Outside these (no unit of work), the adapter and the audit trail write at once.
 */

export type UnitOfWorkKind = 'token' | 'resume' | 'interaction';

/**
 * How the built-in account store's rows are read in the statement of the row that names them
 * (account-read-ahead-sql.ts builds it; the adapter selects it, the store takes what was read).
 */
export interface AccountReadAhead {
  /** The SQL expression (one json value, or null) of the account whose id is the SQL text `idText`. */
  byId(idText: string): string;
  /** For the name a login form carries: the expression given the placeholder of `param`; undefined for a name no account can have. */
  byName(username: string): LoginRead | undefined;
}

/** Account stores whose rows an `AccountReadAhead` reads (the built-in store registers itself). */
const readAheads = new WeakMap<object, AccountReadAhead>();

/** Called by an account store as it is built: `readAhead` reads its accounts. */
export function registerAccountReadAhead(store: object, readAhead: AccountReadAhead): void {
  readAheads.set(store, readAhead);
}

/** How `store`'s accounts are read ahead, if it registered a way; else they are only read by the store. */
export function accountReadAheadOf(store: unknown): AccountReadAhead | undefined {
  return typeof store === 'object' && store !== null ? readAheads.get(store) : undefined;
}

/** The account a login form names: `column` given the placeholder of `param` (one json value, or null). */
export interface LoginRead {
  column: (placeholder: string) => string;
  param: string;
}

/** What a token request read with its code or refresh token (see `kind`). */
interface ReadAhead {
  grants: Map<string, unknown>;
  sessions: Map<string, unknown>;
  revokedSids: Map<string, boolean>;
  accounts: Map<string, unknown>;
}

interface UpdateOnly {
  stored: boolean;
  audit: BatchedWrite[];
  auditStored: boolean;
}

/** Thrown by `commitTokenWrites` for the first write that must return a row and returned none. */
export class RefusedWrite extends Error {
  readonly write: BatchedWrite;
  constructor(write: BatchedWrite) {
    super(write.mustReturnRow?.description ?? 'refused');
    this.write = write;
  }
}

/**
 * Audit inserts on their own, each in its own statement: a failure is logged, never thrown; while
 * the database does not answer they are held and stored again (audit-backlog.ts).
 */
export async function storeAuditWrites(sql: Sql, logger: Logger, writes: BatchedWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const backlog = auditBacklogFor(sql, logger);
  for (const w of writes) {
    try {
      await backlog.store({ text: w.text, params: w.params });
    } catch (err) {
      logger.error({ err }, 'audit event not stored');
    }
  }
}

export class UnitOfWork {
  readonly sql: Sql;
  readonly logger: Logger;
  readonly kind: UnitOfWorkKind;
  /** A token request's protocol writes and audit events, committed together. */
  readonly tokenWrites: BatchedWrite[] = [];
  readonly auditWrites: BatchedWrite[] = [];
  /** A resume's pending writes, the rows and the models they touch. */
  #rowWrites: BatchedWrite[] = [];
  readonly #rows = new Set<string>();
  readonly #models = new Set<string>();
  #readAhead: ReadAhead | undefined;
  #login: (LoginRead & { asked: boolean; read?: { value: unknown } | undefined }) | undefined;
  #held: BatchedWrite[] | undefined;
  #updateOnly: UpdateOnly | undefined;

  constructor(options: { sql: Sql; logger: Logger; kind: UnitOfWorkKind }) {
    this.sql = options.sql;
    this.logger = options.logger;
    this.kind = options.kind;
  }

  /** Run `fn` with this as the current request's unit of work. */
  run<R>(fn: () => R): R {
    return runInUnitOfWork(this, fn);
  }

  /** Queue a protocol write of a token request; false when the caller must write itself. */
  deferTokenWrite(write: BatchedWrite): boolean {
    if (this.kind !== 'token') return false;
    this.tokenWrites.push(write);
    return true;
  }

  /** Queue an audit insert (held back, or in a token request); false when the caller must write itself. */
  deferAudit(write: BatchedWrite): boolean {
    if (this.#held) this.#held.push(write);
    else if (this.kind === 'token') this.auditWrites.push(write);
    else return false;
    return true;
  }

  /**
   * Queue a resume's write of row `id` of `model`; false when the caller must write itself. A second
   * write to a row already pending commits the first one before it is queued (one statement must
   * not touch a row twice).
   */
  async deferRowWrite(model: string, id: string, write: BatchedWrite): Promise<boolean> {
    if (this.kind !== 'resume') return false;
    const row = `${model}\0${id}`;
    if (this.#rows.has(row)) await this.#flushRows();
    this.#rowWrites.push(write);
    this.#rows.add(row);
    this.#models.add(model);
    return true;
  }

  /**
   * Commit a resume's pending writes now: all of them, or with `model`, only when one of them is a
   * row of that model (a lookup of that model could see it).
   */
  async flushRowWrites(model?: string): Promise<void> {
    if (this.#rowWrites.length === 0) return;
    if (model === undefined || this.#models.has(model)) await this.#flushRows();
  }

  async #flushRows(): Promise<void> {
    const writes = this.#rowWrites;
    this.#rowWrites = [];
    this.#rows.clear();
    this.#models.clear();
    if (writes.length === 1) await this.sql.query(writes[0]!.text, writes[0]!.params);
    else if (writes.length > 1) await commitAsOneStatement(this.sql, writes);
  }

  /**
   * The token request's protocol writes in one transaction, in order, checking each; throws
   * RefusedWrite for the first that must return a row and returns none (rolling the others back).
   * The slow path, after the one statement was refused or failed.
   */
  async commitTokenWritesOneByOne(): Promise<void> {
    await this.sql.transaction(async (tx) => {
      for (const w of this.tokenWrites) {
        const rows = await tx.query(w.text, w.params);
        if (w.mustReturnRow && rows.length === 0) throw new RefusedWrite(w);
      }
    });
  }

  // Read ahead: each value is handed out once, to the first lookup of its key in this request, unless
  // the request wrote that row through the adapter since (`forgetReadAhead`); any other lookup reads
  // SQL. A disabled account or a changed role takes effect from the next request.

  #reads(): ReadAhead {
    this.#readAhead ??= {
      grants: new Map(),
      sessions: new Map(),
      revokedSids: new Map(),
      accounts: new Map(),
    };
    return this.#readAhead;
  }

  offerGrant(id: string, payload: unknown): void {
    this.#reads().grants.set(id, payload);
  }
  takeGrant(id: string): { value: unknown } | undefined {
    return takeOnce(this.#readAhead?.grants, id);
  }
  offerSession(uid: string, payload: unknown): void {
    this.#reads().sessions.set(uid, payload);
  }
  takeSession(uid: string): { value: unknown } | undefined {
    return takeOnce(this.#readAhead?.sessions, uid);
  }
  offerSidRevocation(sid: string, revoked: boolean): void {
    this.#reads().revokedSids.set(sid, revoked);
  }
  /** Whether `sid` was revoked, as read with the refresh token; undefined when it was not read ahead. */
  takeSidRevocation(sid: string): boolean | undefined {
    return takeOnce(this.#readAhead?.revokedSids, sid)?.value;
  }
  /**
   * This request writes row `id` of `model` (with no `id`, rows named otherwise, such as by grant)
   * through the adapter: what was read ahead of them is dropped, so the next lookup reads SQL and
   * sees the write. Sessions are read ahead by uid but written by id: a session write drops them all.
   */
  forgetReadAhead(model: string, id?: string): void {
    const reads = this.#readAhead;
    if (!reads) return;
    if (model === 'Grant') {
      if (id === undefined) reads.grants.clear();
      else reads.grants.delete(id);
    } else if (model === 'Session') {
      reads.sessions.clear();
    }
  }

  /** Keep what was read for account `accountId` (a json value or null). */
  offerAccount(accountId: string, value: unknown): void {
    this.#reads().accounts.set(accountId, value);
  }
  takeAccount(accountId: string): { value: unknown } | undefined {
    return takeOnce(this.#readAhead?.accounts, accountId);
  }

  /** Read `read`'s account in the statement of this request's first interaction read. */
  readAccountWithInteraction(read: LoginRead | undefined): void {
    this.#login = read && { ...read, asked: false };
  }
  /** For the adapter: the login account to read with the interaction, once. */
  loginAccountToRead(): LoginRead | undefined {
    const login = this.#login;
    if (!login || login.asked) return undefined;
    login.asked = true;
    return login;
  }
  /** For the adapter: what the interaction's statement read for the login's account. */
  offerLoginAccount(value: unknown): void {
    if (this.#login) this.#login.read = { value };
  }
  /** For the account store: what was read for the name key `param` (once), if anything. */
  takeLoginAccount(param: string): { value: unknown } | undefined {
    const login = this.#login;
    if (!login?.read || login.param !== param) return undefined;
    const read = login.read;
    login.read = undefined;
    return read;
  }

  /**
   * Run `fn` (a password check) holding back the audit events it records (audit.ts defers them
   * here), for the caller to store with its own next write in one statement (the login form: with
   * the interaction's result). When `fn` throws, its events are stored before the error goes on.
   * The caller must store the events it gets (`storeAuditWrites` at the latest) before it answers.
   */
  async holdAuditWrites<T>(fn: () => Promise<T>): Promise<{ result: T; audit: BatchedWrite[] }> {
    const outer = this.#held;
    const held: BatchedWrite[] = [];
    this.#held = held;
    try {
      const result = await this.#current(fn);
      return { result, audit: held };
    } catch (err) {
      this.#held = outer;
      await this.storeAuditWrites(held);
      throw err;
    } finally {
      this.#held = outer;
    }
  }

  /** Audit inserts on their own (see the module function). */
  storeAuditWrites(writes: BatchedWrite[]): Promise<void> {
    return storeAuditWrites(this.sql, this.logger, writes);
  }

  /**
   * Run `save` (an oidc-provider model's `save()`) so that its row is only updated while it exists,
   * never inserted again (the adapter asks `updatesOnly`); resolves to whether it was stored. The
   * login form stores its result on the interaction it read before checking the password: an
   * interaction that a resume consumed meanwhile must not come back. `audit` (the login's events)
   * is stored in that statement too, whether the row exists or not; when the statement fails, the
   * events are stored on their own (a failure logged) and the update runs alone. Events that `save`
   * never got to are stored before this resolves or throws.
   */
  async saveIfPresent(save: () => Promise<unknown>, audit: BatchedWrite[] = []): Promise<boolean> {
    const outcome: UpdateOnly = { stored: false, audit, auditStored: audit.length === 0 };
    const outer = this.#updateOnly;
    this.#updateOnly = outcome;
    try {
      await this.#current(save);
    } finally {
      this.#updateOnly = outer;
      if (!outcome.auditStored) await this.storeAuditWrites(audit);
    }
    return outcome.stored;
  }

  /** Whether an upsert must only update an existing row (`saveIfPresent` is running). */
  get updatesOnly(): boolean {
    return this.#updateOnly !== undefined;
  }

  /** For the adapter within `saveIfPresent`: `update` (returning its row) with the held audit events. */
  async updateIfPresent(update: BatchedWrite): Promise<void> {
    const pending = this.#updateOnly;
    if (!pending) throw new Error('updateIfPresent outside saveIfPresent');
    if (pending.auditStored) {
      pending.stored = (await this.sql.query(update.text, update.params)).length > 0;
      return;
    }
    pending.auditStored = true;
    const statement = asOneStatement([update, ...pending.audit], '(select count(*) from w0)::int as stored');
    try {
      const rows = await this.sql.query<{ stored: number }>(statement.text, statement.params);
      pending.stored = rows[0]!.stored > 0;
    } catch (err) {
      // An audit insert must not fail the write: the events on their own first, then the update.
      this.logger.error({ err }, 'write failed with its audit events; retrying without');
      await this.storeAuditWrites(pending.audit);
      pending.stored = (await this.sql.query(update.text, update.params)).length > 0;
    }
  }

  /** `fn` with this as the current unit of work (the adapter and the audit trail find it there). */
  #current<R>(fn: () => R): R {
    return currentUnitOfWork() === this ? fn() : this.run(fn);
  }
}

/** The current request's unit of work, if its entry opened one. */
export function currentUnitOfWork(): UnitOfWork | undefined {
  const work = requestUnitOfWork();
  return work instanceof UnitOfWork ? work : undefined;
}

/**
 * The current request's unit of work, or one of its own for code that runs outside a request
 * (a test, a job): the same methods, which then write at once.
 */
export function unitOfWork(sql: Sql, logger: Logger): UnitOfWork {
  return currentUnitOfWork() ?? new UnitOfWork({ sql, logger, kind: 'interaction' });
}
