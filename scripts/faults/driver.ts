import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppClient } from './code-flow.ts';
import { refreshTokenByCodeFlow } from './code-flow.ts';
import { type Answer, CookieJar, type TopologyHttp } from './http.ts';

/** One request of the load, kept for the table: when, which step, what came back. */
export interface Sample {
  at: number;
  step: string;
  method: string;
  status: number;
  error?: string;
  ok: boolean;
  ms: number;
}

interface User {
  username: string;
  password: string;
  jar: CookieJar;
  refreshToken?: string;
  /** The last refresh got no clean answer: the server may have rotated the token meanwhile. */
  refreshUncertain: boolean;
  /** The last logout got no clean answer: the server may have ended the session meanwhile. */
  sessionUncertain: boolean;
  productId: number;
}

export interface DriverOptions {
  http: TopologyHttp;
  origin: string;
  client: AppClient;
  users: number;
  /** Every Nth iteration a user refreshes its token, every Mth it logs out and in again. */
  refreshEvery?: number;
  logoutEvery?: number;
  /** Users registered and signed in at once by `prepare` (default: all): sign-ins hash passwords. */
  prepareConcurrency?: number;
}

/**
 * The shop load through the public entry points only (nginx's HTTPS port): each virtual user
 * registers, signs in (session cookie) and gets a refresh token by the code flow, then loops over
 * whoami, list products, buy, list orders, now and then a refresh-token rotation and a
 * logout followed by a new sign-in. Everything the client was told is kept: orders acknowledged,
 * sessions it holds, sessions it logged out of, its current refresh token.
 */
export class ShopDriver {
  readonly samples: Sample[] = [];
  readonly ordersAcknowledged = new Set<number>();
  /** Session cookies the client logged out of (answered 204): every gateway must refuse them. */
  readonly loggedOut: string[] = [];
  refreshLostAfterUnansweredRotation = 0;
  /** Sessions refused after their own logout went unanswered (ended by it, most likely): not lost. */
  sessionsEndedByUnansweredLogout = 0;
  refreshLost = 0;
  readonly users: User[] = [];
  readonly #o: DriverOptions;
  readonly #started = performance.now();
  #stop = false;
  #loops: Promise<void>[] = [];

  constructor(options: DriverOptions) {
    this.#o = options;
  }

  now(): number {
    return performance.now() - this.#started;
  }

  async #call(
    step: string,
    path: string,
    expect: number,
    init: { method?: string; user?: User; json?: unknown; form?: Record<string, string> } = {},
  ): Promise<Answer> {
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = {};
    if (init.user) headers['cookie'] = init.user.jar.header();
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    if (method !== 'GET') headers['origin'] = this.#o.origin;
    const at = this.now();
    const answer = await this.#o.http.request(`${this.#o.origin}${path}`, { method, headers, body });
    if (init.user && answer.status !== 0) init.user.jar.store(answer.headers);
    this.samples.push({
      at,
      step,
      method,
      status: answer.status,
      ...(answer.error ? { error: answer.error } : {}),
      ok: answer.status === expect,
      ms: this.now() - at,
    });
    return answer;
  }

  async #signIn(user: User): Promise<boolean> {
    const res = await this.#call('login', '/authentication/login', 200, {
      method: 'POST',
      user,
      json: { username: user.username, password: user.password },
    });
    if (res.status === 200) user.sessionUncertain = false;
    return res.status === 200;
  }

  async #codeFlow(user: User): Promise<void> {
    const at = this.now();
    try {
      user.refreshToken = await refreshTokenByCodeFlow(
        this.#o.http,
        user.jar,
        this.#o.origin,
        this.#o.client,
        user,
      );
      user.refreshUncertain = false;
      this.samples.push({
        at,
        step: 'code flow',
        method: 'POST',
        status: 200,
        ok: true,
        ms: this.now() - at,
      });
    } catch (err) {
      user.refreshToken = undefined;
      this.samples.push({
        at,
        step: 'code flow',
        method: 'POST',
        status: 0,
        error: (err as Error).message,
        ok: false,
        ms: this.now() - at,
      });
    }
  }

  /** Register and sign in every user, then get each one a refresh token. */
  async prepare(): Promise<void> {
    const run = randomBytes(3).toString('hex');
    for (let i = 0; i < this.#o.users; i++) {
      this.users.push({
        username: `fault-${run}-${i}`,
        password: `pw-${randomBytes(12).toString('base64url')}`,
        jar: new CookieJar(),
        refreshUncertain: false,
        sessionUncertain: false,
        productId: (i % 5) + 1,
      });
    }
    // A thousand users signing up at once would queue behind the password hashes past the
    // client's timeout: a bounded number at a time, as users arrive in practice.
    const queue = [...this.users];
    const worker = async () => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        await this.#call('registration', '/authentication/registration', 201, {
          method: 'POST',
          json: { username: u.username, password: u.password },
        });
        await this.#signIn(u);
        await this.#codeFlow(u);
      }
    };
    const n = Math.min(this.users.length, this.#o.prepareConcurrency ?? this.users.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  start(): void {
    this.#stop = false;
    this.#loops = this.users.map((u) => this.#loop(u));
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#loops);
  }

  async #loop(user: User): Promise<void> {
    const refreshEvery = this.#o.refreshEvery ?? 4;
    const logoutEvery = this.#o.logoutEvery ?? 7;
    for (let i = 1; !this.#stop; i++) {
      if (!user.jar.get('gatehouse_session')) {
        if (!(await this.#signIn(user))) {
          await sleep(200);
          continue;
        }
      }
      const whoami = await this.#call('whoami', '/authentication/whoami', 200, { user });
      if (whoami.status === 401 && user.sessionUncertain) {
        // Its logout did happen, though the answer was lost: sign in again, as a browser would.
        this.sessionsEndedByUnansweredLogout++;
        user.jar.delete('gatehouse_session');
        continue;
      }
      await this.#call('list products', '/products', 200, { user });
      const buy = await this.#call('buy', `/products/${user.productId}/buy`, 201, {
        method: 'POST',
        user,
        json: { quantity: 1 },
      });
      if (buy.status === 201)
        this.ordersAcknowledged.add((JSON.parse(buy.body) as { order: { id: number } }).order.id);
      await this.#call('list orders', '/orders', 200, { user });
      if (i % refreshEvery === 0) await this.#refresh(user);
      if (i % logoutEvery === 0) {
        const session = user.jar.get('gatehouse_session');
        const out = await this.#call('logout', '/authentication/logout', 204, { method: 'POST', user });
        if (out.status === 204 && session) this.loggedOut.push(session);
        else user.sessionUncertain = true;
        // Whatever the answer, the client starts over with a new sign-in, as a browser would.
        if (out.status !== 0) await this.#signIn(user);
      }
    }
  }

  async #refresh(user: User): Promise<void> {
    if (!user.refreshToken) {
      await this.#codeFlow(user);
      return;
    }
    const res = await this.#call('refresh', '/auth/token', 200, {
      method: 'POST',
      form: {
        grant_type: 'refresh_token',
        refresh_token: user.refreshToken,
        client_id: this.#o.client.clientId,
      },
    });
    if (res.status === 200) {
      user.refreshToken = (JSON.parse(res.body) as { refresh_token: string }).refresh_token;
      user.refreshUncertain = false;
    } else if (res.status === 400 && res.body.includes('invalid_grant')) {
      if (user.refreshUncertain) this.refreshLostAfterUnansweredRotation++;
      else this.refreshLost++;
      user.refreshToken = undefined;
    } else {
      user.refreshUncertain = true;
    }
  }

  /**
   * After the run: every session the client holds still works (through the load balancer), and
   * every refresh token it holds still refreshes. Counts what was lost; a session refused after its
   * own logout went unanswered is counted apart (`sessionsEndedByUnansweredLogout`), as a refresh
   * token refused after an unanswered rotation is.
   */
  async checkHeld(): Promise<{
    sessionsHeld: number;
    sessionsLost: number;
    refreshHeld: number;
    refreshLost: number;
  }> {
    let sessionsHeld = 0;
    let sessionsLost = 0;
    let refreshHeld = 0;
    await Promise.all(
      this.users.map(async (u) => {
        if (u.jar.get('gatehouse_session')) {
          sessionsHeld++;
          const r = await this.#call('check session', '/authentication/whoami', 200, { user: u });
          if (r.status === 401 && u.sessionUncertain) this.sessionsEndedByUnansweredLogout++;
          else if (r.status === 401) sessionsLost++;
        }
        if (u.refreshToken && !u.refreshUncertain) {
          refreshHeld++;
          await this.#refresh(u);
        }
      }),
    );
    return { sessionsHeld, sessionsLost, refreshHeld, refreshLost: this.refreshLost };
  }
}
