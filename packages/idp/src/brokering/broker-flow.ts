import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseError } from '@gatehouse/core';
import { clientAddress, cookieValue } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import type { IdpRuntime } from '../index.ts';
import type { RenderedPage } from '../pages/layout.ts';
import { renderMessagePage } from '../pages/message-page.ts';
import {
  clientIdOf,
  type InteractionStepDeps,
  PASSWORD_REFUSALS_ON_PAGE,
} from '../protocol/interaction-step.ts';
import type { InteractionLike } from '../protocol/interactions.ts';
import { SESSION_COOKIE, verifySessionToken } from '../sessions/session-token.ts';
import type { BatchedWrite } from '../storage/one-statement.ts';
import { unitOfWork } from '../storage/unit-of-work.ts';
import { ACCOUNT_LINK_COOKIE, accountLinkMatches, isAccountLinkBinding } from './account-link.ts';
import { type BrokeringConfig, resolveBrokeringConfig, type UpstreamProvider } from './broker-config.ts';
import { type MappedIdentity, mapClaims } from './claim-mapping.ts';
import { renderFirstLoginPage } from './first-login-page.ts';
import { createLinkedIdentities, type LinkedIdentities } from './linked-identities.ts';
import {
  createUpstream,
  newPendingAuthorization,
  type PendingAuthorization,
  type Upstream,
  type UpstreamHints,
  upstreamHints,
} from './upstream.ts';

/**
 * The broker flow, between the hosted login page (interactions.ts) and the upstreams (upstream.ts):
 *
 * 1. a provider's button posts to `<interaction>/broker`; the browser is sent to the upstream with a
 *    fresh `state`, `nonce` and PKCE verifier, kept in the shared state under `state` only;
 * 2. the upstream sends the browser to `<issuer>/interaction/broker-callback`: the `state` is taken
 *    once (a replayed callback finds nothing), openid-client validates the response, and the result
 *    waits for the interaction that started it;
 * 3. the browser goes back to its interaction (its own cookie proves it is the one that started:
 *    a callback planted in another browser finds no interaction there) and is signed in to the
 *    linked account, or, for an identity not linked yet, chooses between a new account and linking
 *    to an existing one by signing in to it with its own password.
 *
 * A signed-in person links another provider through the session API (`/authentication/identities`);
 * the callback then checks that the session that started the link is the browser's own.
 */
const PENDING_TTL_MS = 10 * 60 * 1000;
const pendingKey = (state: string) => `idp:broker:pending:${state}`;
const usedKey = (state: string) => `idp:broker:used:${state}`;
const resultKey = (uid: string) => `idp:broker:result:${uid}`;
const firstKey = (uid: string) => `idp:broker:first:${uid}`;
const stateShape = /^[A-Za-z0-9_-]{16,128}$/;

type Pending = PendingAuthorization & { provider: string } & (
    | { mode: 'login'; uid: string }
    | { mode: 'link'; userId: string; sid: string }
  );

interface FirstLogin {
  provider: string;
  identity: MappedIdentity;
}

export interface Brokering {
  readonly config: BrokeringConfig;
  readonly identities: LinkedIdentities;
  readonly callbackUrl: string;
  upstream(providerId: unknown): Upstream;
  /** Keep the authorization under its `state` and answer where the browser goes. */
  start(
    providerId: unknown,
    who: { mode: 'login'; uid: string } | { mode: 'link'; userId: string; sid: string },
    hints?: UpstreamHints,
  ): Promise<URL>;
  /** Take the pending authorization of a callback once; IDP_BROKER_STATE_INVALID when there is none. */
  takePending(callback: URL): Promise<Pending>;
}

const byRuntime = new WeakMap<IdpRuntime, Brokering>();

export function brokeringOf(idp: IdpRuntime): Brokering {
  const existing = byRuntime.get(idp);
  if (existing) return existing;
  const config = resolveBrokeringConfig((idp.config as { brokering?: unknown }).brokering ?? {});
  const upstreams = new Map(config.providers.map((p) => [p.id, createUpstream(p, idp.logger)]));
  const callbackUrl = `${idp.issuer.replace(/\/$/, '')}/interaction/broker-callback`;
  const brokering: Brokering = {
    config,
    identities: createLinkedIdentities(idp.sql),
    callbackUrl,
    upstream(providerId) {
      const upstream = typeof providerId === 'string' ? upstreams.get(providerId) : undefined;
      if (!upstream) throw idpErrors.create('IDP_BROKER_PROVIDER_UNKNOWN');
      return upstream;
    },
    async start(providerId, who, hints) {
      const upstream = brokering.upstream(providerId);
      const pending = newPendingAuthorization();
      const url = await upstream.authorizationUrl(callbackUrl, pending, hints);
      const record: Pending = { ...pending, provider: upstream.provider.id, ...who };
      await idp.state.set(pendingKey(pending.state), JSON.stringify(record), PENDING_TTL_MS);
      return url;
    },
    async takePending(callback) {
      const state = callback.searchParams.get('state') ?? '';
      if (!stateShape.test(state)) throw idpErrors.create('IDP_BROKER_STATE_INVALID');
      const stored = await idp.state.get(pendingKey(state));
      // Taken once: of two callbacks with one state, only the first gets past this line.
      if (!stored || !(await idp.state.setIfAbsent(usedKey(state), '1', PENDING_TTL_MS))) {
        throw idpErrors.create('IDP_BROKER_STATE_INVALID');
      }
      await idp.state.delete(pendingKey(state));
      return JSON.parse(stored) as Pending;
    },
  };
  byRuntime.set(idp, brokering);
  return brokering;
}

/** What interactions.ts lends the broker: its checks, and the second factor an account may need. */
export interface InteractionBrokeringDeps extends InteractionStepDeps {
  /**
   * Ask for a second factor when the account needs one (true: its page was sent); `known` is what
   * the account read already says (its second factor and roles), so it is not read again.
   */
  secondFactor(
    res: ServerResponse,
    interaction: InteractionLike,
    accountId: string,
    known: { secondFactor?: boolean | undefined; roles?: string[] | undefined },
  ): Promise<boolean>;
}

/** `amr` of a brokered login (RFC 8176 has no value for it; `fed` is what OpenID federations use). */
export const BROKERED_AMR = ['fed'];

export function interactionBrokering(idp: IdpRuntime, deps: InteractionBrokeringDeps) {
  const brokering = brokeringOf(idp);
  const { accounts, audit, trusted } = accountServices(idp);
  const { logger } = idp;

  function redirect(res: ServerResponse, location: string): void {
    res.statusCode = 303;
    res.setHeader('Location', location);
    res.setHeader('Content-Length', '0');
    res.end();
  }

  async function signInAs(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: InteractionLike,
    accountId: string,
    provider: string,
    audit: BatchedWrite[],
  ): Promise<void> {
    const account = await accounts.get(accountId);
    if (!account?.enabled) throw idpErrors.create('IDP_INVALID_CREDENTIALS');
    await idp.state.delete(firstKey(interaction.uid));
    logger.info({ accountId, provider }, 'brokered login');
    if (await deps.secondFactor(res, interaction, accountId, account)) {
      await unitOfWork(idp.sql, logger).storeAuditWrites(audit);
      return;
    }
    await deps.finishLogin(req, res, interaction, accountId, audit, BROKERED_AMR);
  }

  async function loginEvent(
    req: IncomingMessage,
    interaction: InteractionLike,
    accountId: string,
    details: object,
  ) {
    const { audit: held } = await unitOfWork(idp.sql, logger).holdAuditWrites(() =>
      audit.record({
        type: 'broker.login',
        actor: accountId,
        subject: accountId,
        clientId: clientIdOf(interaction),
        sourceIp: clientAddress(req, trusted),
        details: details as Record<string, unknown>,
      }),
    );
    return held;
  }

  function firstLoginPage(uid: string, first: FirstLogin, error?: string): RenderedPage {
    const provider = brokering.config.providers.find((p) => p.id === first.provider);
    const base = `${deps.mount}/${uid}`;
    return renderFirstLoginPage({
      providerName: provider?.name ?? first.provider,
      proposedUsername: first.identity.username,
      createAction: provider?.createAccounts === false ? undefined : `${base}/broker-create`,
      linkAction: `${base}/broker-link`,
      csrf: deps.csrfFor(uid),
      error,
      theme: deps.theme,
    });
  }

  async function readFirst(uid: string): Promise<FirstLogin> {
    const stored = await idp.state.get(firstKey(uid));
    if (!stored) throw idpErrors.create('IDP_BROKER_STATE_INVALID');
    return JSON.parse(stored) as FirstLogin;
  }

  /** A provider's button: POST `<interaction>/broker` with `provider`. */
  async function start(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const interaction = await deps.loadInteraction(req, res, uid);
    const fields = await deps.formFields(req, ['csrf', 'provider']);
    deps.checkCsrf(uid, fields['csrf']);
    if (interaction.prompt.name !== 'login') throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    const url = await brokering.start(
      fields['provider'],
      { mode: 'login', uid },
      upstreamHints(interaction.params),
    );
    redirect(res, url.href);
  }

  /** `<issuer>/interaction/broker-callback` (GET): where every upstream sends the browser back. */
  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?')) : '';
    const current = new URL(brokering.callbackUrl);
    current.search = query;
    const pending = await brokering.takePending(current);
    const upstream = brokering.upstream(pending.provider);
    const signIn = await upstream.callback(current, pending);
    const identity = mapClaims(upstream.provider, signIn.claims);
    if (pending.mode === 'link') return linkFromSession(req, res, pending, identity);
    await idp.state.set(
      resultKey(pending.uid),
      JSON.stringify({ provider: upstream.provider.id, identity } satisfies FirstLogin),
      PENDING_TTL_MS,
    );
    redirect(res, `${deps.mount}/${pending.uid}`);
  }

  async function linkFromSession(
    req: IncomingMessage,
    res: ServerResponse,
    pending: Pending & { mode: 'link' },
    identity: MappedIdentity,
  ): Promise<void> {
    const { sessions, accounts } = accountServices(idp);
    if (isAccountLinkBinding(pending.sid)) {
      // Started on the account page: only the browser holding its cookie, for an account still enabled.
      const account = accountLinkMatches(req, pending.sid) ? await accounts.get(pending.userId) : undefined;
      if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
      await linkIdentity(req, pending, identity, 'account-page');
      res
        .writeHead(303, {
          location: '/account?done=linked#identities',
          'set-cookie': `${ACCOUNT_LINK_COOKIE}=; Path=${new URL(brokering.callbackUrl).pathname}; HttpOnly; SameSite=Lax; Max-Age=0`,
          'cache-control': 'no-store',
        })
        .end();
      return;
    }
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const claims = token
      ? await verifySessionToken(idp.keys, token, {
          issuer: idp.issuer,
          clockToleranceSeconds: idp.config.clockToleranceSeconds,
        })
      : undefined;
    const session = claims ? await sessions.findActive(claims.sid) : undefined;
    // The link goes to the account whose session started it, and only in that session's browser.
    if (!claims || !session || claims.sid !== pending.sid || claims.sub !== pending.userId) {
      throw idpErrors.create('IDP_UNAUTHENTICATED');
    }
    await linkIdentity(req, pending, identity, 'session-api');
    deps.sendPage(res, 200, linkedPage(pending.provider));
  }

  async function linkIdentity(
    req: IncomingMessage,
    pending: Pending & { mode: 'link' },
    identity: MappedIdentity,
    via: string,
  ): Promise<void> {
    await brokering.identities.link(pending.userId, pending.provider, identity.subject, identity.username);
    await audit.record({
      type: 'broker.linked',
      actor: pending.userId,
      subject: pending.userId,
      sourceIp: clientAddress(req, trusted),
      details: { provider: pending.provider, upstreamSubject: identity.subject, via },
    });
  }

  function linkedPage(providerId: string): RenderedPage {
    const name = brokering.config.providers.find((p) => p.id === providerId)?.name ?? providerId;
    return renderMessagePage({
      title: 'Provider linked',
      message: `${name} is now linked to your account: you can sign in with it.`,
      theme: deps.theme,
    });
  }

  /**
   * The GET of an interaction page after the upstream answered: sign in to the linked account, or
   * show the first-login choice. Undefined when no brokered sign-in is in progress.
   */
  async function resume(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: InteractionLike,
  ): Promise<boolean> {
    const uid = interaction.uid;
    const stored = await idp.state.get(resultKey(uid));
    if (stored && (await idp.state.setIfAbsent(`${resultKey(uid)}:taken`, '1', PENDING_TTL_MS))) {
      await idp.state.delete(resultKey(uid));
      const result = JSON.parse(stored) as FirstLogin;
      const linked = await brokering.identities.signIn(result.provider, result.identity.subject);
      if (linked) {
        const held = await loginEvent(req, interaction, linked.userId, {
          provider: result.provider,
          upstreamSubject: result.identity.subject,
        });
        await signInAs(req, res, interaction, linked.userId, result.provider, held);
        return true;
      }
      await idp.state.set(firstKey(uid), JSON.stringify(result), PENDING_TTL_MS);
      deps.sendPage(res, 200, firstLoginPage(uid, result));
      return true;
    }
    const first = await idp.state.get(firstKey(uid));
    if (!first) return false;
    deps.sendPage(res, 200, firstLoginPage(uid, JSON.parse(first) as FirstLogin));
    return true;
  }

  /** First login, "Create a new account": from the mapped claims, linked in the same transaction. */
  async function create(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const interaction = await deps.loadInteraction(req, res, uid);
    const fields = await deps.formFields(req, ['csrf']);
    deps.checkCsrf(uid, fields['csrf']);
    const first = await readFirst(uid);
    const provider = providerOf(first.provider);
    if (!provider.createAccounts) throw idpErrors.create('IDP_BROKER_NO_ACCOUNT');
    const account = await brokering.identities.createAccount(
      { username: first.identity.username, email: first.identity.email, roles: first.identity.roles },
      { provider: provider.id, subject: first.identity.subject, upstreamUsername: first.identity.username },
    );
    await idp.state.delete(firstKey(uid));
    await audit.record({
      type: 'broker.account_created',
      actor: account.id,
      subject: account.id,
      sourceIp: clientAddress(req, trusted),
      details: {
        provider: provider.id,
        upstreamSubject: first.identity.subject,
        username: account.username,
        roles: first.identity.roles,
      },
    });
    const held = await loginEvent(req, interaction, account.id, {
      provider: provider.id,
      upstreamSubject: first.identity.subject,
    });
    await signInAs(req, res, interaction, account.id, provider.id, held);
  }

  /** First login, "Link to my account": the account's own password proves it is the person's. */
  async function link(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const interaction = await deps.loadInteraction(req, res, uid);
    const fields = await deps.formFields(req, ['csrf', 'username', 'password']);
    deps.checkCsrf(uid, fields['csrf']);
    const first = await readFirst(uid);
    const provider = providerOf(first.provider);
    const username = fields['username'] ?? '';
    const password = fields['password'] ?? '';
    if (!username || !password || username.length > 128 || password.length > 1024) {
      return deps.sendPage(res, 400, firstLoginPage(uid, first, 'Enter your username and password.'));
    }
    let accountId: string;
    let held: BatchedWrite[];
    try {
      const checked = await unitOfWork(idp.sql, logger).holdAuditWrites(() =>
        accounts.verifyCredentials(username, password, {
          ip: clientAddress(req, trusted),
          clientId: clientIdOf(interaction),
          via: 'interaction',
        }),
      );
      accountId = checked.result.id;
      held = checked.audit;
    } catch (err) {
      const e = err as GatehouseError;
      if (!PASSWORD_REFUSALS_ON_PAGE.has(e.code)) throw err;
      for (const [name, value] of Object.entries(e.headers ?? {})) res.setHeader(name, value);
      return deps.sendPage(res, e.status, firstLoginPage(uid, first, e.message));
    }
    await brokering.identities.link(accountId, provider.id, first.identity.subject, first.identity.username);
    await audit.record({
      type: 'broker.linked',
      actor: accountId,
      subject: accountId,
      sourceIp: clientAddress(req, trusted),
      details: { provider: provider.id, upstreamSubject: first.identity.subject, via: 'interaction' },
    });
    await signInAs(req, res, interaction, accountId, provider.id, held);
  }

  function providerOf(id: string): UpstreamProvider {
    return brokering.upstream(id).provider;
  }

  return {
    /** The buttons of the login page. */
    providers: brokering.config.providers.map((p) => ({ id: p.id, name: p.name })),
    callbackPath: new URL(brokering.callbackUrl).pathname,
    callback,
    resume,
    actions: { broker: start, 'broker-create': create, 'broker-link': link },
  };
}
