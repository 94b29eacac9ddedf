import { createHmac, createSecretKey, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, coreErrors, type GatehouseError, readFields, requestOrigin } from '@gatehouse/core';
import { errors } from 'oidc-provider';
import { accountServices } from '../accounts/account-services.ts';
import { interactionBrokering } from '../brokering/broker-flow.ts';
import { idpErrors } from '../errors.ts';
import type { HttpHandler, IdpRuntime } from '../index.ts';
import { acrOf } from '../mfa/acr.ts';
import { interactionSecondFactor, PASSWORD_AMR } from '../mfa/interaction-second-factor.ts';
import { renderConsentPage } from '../pages/consent-page.ts';
import { assertSameOrigin } from '../pages/csrf.ts';
import type { RenderedPage } from '../pages/layout.ts';
import { renderLoginPage } from '../pages/login-page.ts';
import { renderMessagePage } from '../pages/message-page.ts';
import type { BatchedWrite } from '../storage/one-statement.ts';
import { accountReadAheadOf, currentUnitOfWork, UnitOfWork, unitOfWork } from '../storage/unit-of-work.ts';
import { clientPolicy } from './clients.ts';
import { clientIdOf, PASSWORD_REFUSALS_ON_PAGE } from './interaction-step.ts';
import { findProviderClient, interactionResultInPlace } from './oidc-provider-internals.ts';

/**
 * The hosted login and consent pages of oidc-provider's interactions, at
 * `<issuer path>/interaction/:uid` (GET shows the page the prompt needs) with
 * `/login`, `/confirm` and `/abort` (POST).
 *
 * - The interaction is the one oidc-provider bound to this browser with its signed cookie, and it
 *   must be the one named in the path.
 * - Every POST passes the cross-site rule (csrf.ts) and carries a token derived from the interaction
 *   uid with a key only the identity provider holds, so a form built on another site fails twice.
 * - Only the listed fields are accepted; there is no return URL parameter at all: where the browser
 *   goes next is the interaction's own `returnTo`, which oidc-provider stored, so no open redirect.
 * - A wrong password, an unknown or disabled account all show the same message (password-login.ts), with
 *   the HTTP status of the API error (401, 429).
 * - Consent is asked only when oidc-provider asks for it; first-party clients never see the page
 *   (provider.ts grants them what they ask for, and an explicit prompt=consent is granted here).
 */
const uidShape = /^[A-Za-z0-9_-]{10,64}$/;
const bodyLimit = 8 * 1024;

export interface InteractionLike {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string; uid?: string } | undefined;
  grantId?: string | undefined;
}

function sendPage(res: ServerResponse, status: number, page: RenderedPage): void {
  res.writeHead(status, { ...page.headers, 'content-length': Buffer.byteLength(page.html) });
  res.end(page.html);
}

export function createInteractionHandler(idp: IdpRuntime): HttpHandler {
  const { accounts, config, trusted } = accountServices(idp);
  const { logger, issuer } = idp;
  const mount = `${new URL(issuer).pathname.replace(/\/$/, '')}/interaction`;
  const publicOrigins = [new URL(issuer).origin, ...config.allowedOrigins].map((o) => o.toLowerCase());
  const csrfKey = createSecretKey(
    Buffer.from(
      hkdfSync('sha256', idp.config.keyEncryptionSecret, 'gatehouse-idp', 'interaction-csrf/v1', 32),
    ),
  );

  const csrfFor = (uid: string) => createHmac('sha256', csrfKey).update(uid).digest('base64url');
  function checkCsrf(uid: string, presented: string | undefined): void {
    const expected = Buffer.from(csrfFor(uid));
    const given = Buffer.from(presented ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw idpErrors.create('IDP_CSRF_REJECTED', 'The form is not from this sign-in page: reload it');
    }
  }

  function allowedOrigins(req: IncomingMessage): Set<string> {
    const own = requestOrigin(req, trusted);
    return new Set(own ? [...publicOrigins, own] : publicOrigins);
  }

  async function loadInteraction(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
  ): Promise<InteractionLike> {
    let interaction: InteractionLike;
    try {
      interaction = (await idp.provider().interactionDetails(req, res)) as unknown as InteractionLike;
    } catch {
      throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    }
    if (interaction.uid !== uid) throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    return interaction;
  }

  async function clientName(clientId: unknown): Promise<string> {
    if (typeof clientId !== 'string') return 'an application';
    const client = await findProviderClient(idp.provider(), clientId);
    return client?.clientName ?? clientId;
  }

  async function loginPage(interaction: InteractionLike, extra: { error?: string; username?: string } = {}) {
    const base = `${mount}/${interaction.uid}`;
    return renderLoginPage({
      action: `${base}/login`,
      abortAction: `${base}/abort`,
      csrf: csrfFor(interaction.uid),
      clientName: await clientName(interaction.params['client_id']),
      theme: config.theme,
      passkey: secondFactor.loginPasskey(interaction.uid),
      providers: broker.providers,
      brokerAction: `${base}/broker`,
      ...extra,
    });
  }

  async function consentPage(interaction: InteractionLike): Promise<RenderedPage> {
    const base = `${mount}/${interaction.uid}`;
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const accountId = interaction.session?.accountId;
    const account = accountId ? await accounts.get(accountId) : undefined;
    return renderConsentPage({
      action: `${base}/confirm`,
      abortAction: `${base}/abort`,
      csrf: csrfFor(interaction.uid),
      clientName: await clientName(interaction.params['client_id']),
      username: account?.username ?? 'unknown',
      theme: config.theme,
      scopes: details.missingOIDCScope ?? [],
      resources: details.missingResourceScopes ?? {},
    });
  }

  // The second step of a sign-in (mfa/): its pages and actions use this file's checks.
  const secondFactor = interactionSecondFactor(idp, {
    mount,
    theme: config.theme,
    csrfFor,
    checkCsrf,
    formFields,
    loadInteraction,
    finishLogin,
    sendPage,
    loginPageWithError: (interaction, error) => loginPage(interaction, { error }),
  });

  // Sign-in through upstream identity providers (brokering/).
  const broker = interactionBrokering(idp, {
    mount,
    theme: config.theme,
    csrfFor,
    checkCsrf,
    formFields,
    loadInteraction,
    secondFactor: (res, interaction, accountId, known) =>
      secondFactor.begin(res, interaction, accountId, known),
    finishLogin,
    sendPage,
  });

  async function show(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const interaction = await loadInteraction(req, res, uid);
    if (interaction.prompt.name === 'login') {
      if (await broker.resume(req, res, interaction)) return;
      const page = (await secondFactor.pageInProgress(uid)) ?? (await loginPage(interaction));
      return sendPage(res, 200, page);
    }
    if (interaction.prompt.name === 'consent') {
      if (interaction.session?.accountId && (await isFirstParty(interaction.params['client_id']))) {
        return grantConsent(req, res, interaction);
      }
      return sendPage(res, 200, await consentPage(interaction));
    }
    throw idpErrors.create('IDP_INTERACTION_NOT_FOUND', 'This sign-in step is not supported');
  }

  async function formFields(req: IncomingMessage, allowed: string[]): Promise<Record<string, string>> {
    const fields = await readFields(req, bodyLimit);
    for (const name of Object.keys(fields)) {
      if (!allowed.includes(name))
        throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown field ${name.slice(0, 40)}`);
    }
    return fields;
  }

  async function login(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    // The form is read first so that the account it names is read in the statement that reads the
    // interaction (the request's unit of work); a form error is still only answered once the
    // interaction is found, as when the form was read second.
    let fields: Record<string, string> | undefined;
    let formError: unknown;
    try {
      fields = await formFields(req, ['csrf', 'username', 'password']);
    } catch (err) {
      formError = err;
    }
    const named = fields?.['username'];
    currentUnitOfWork()?.readAccountWithInteraction(
      named ? accountReadAheadOf(accounts)?.byName(named) : undefined,
    );
    const interaction = await loadInteraction(req, res, uid);
    if (!fields) throw formError;
    await checkLogin(req, res, uid, interaction, fields);
  }

  async function checkLogin(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    interaction: InteractionLike,
    fields: Record<string, string>,
  ): Promise<void> {
    checkCsrf(uid, fields['csrf']);
    if (interaction.prompt.name !== 'login') throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    const username = fields['username'] ?? '';
    const password = fields['password'] ?? '';
    if (!username || !password) {
      return sendPage(
        res,
        400,
        await loginPage(interaction, { error: 'Enter your username and password.', username }),
      );
    }
    if (username.length > 128 || password.length > 1024) {
      return sendPage(
        res,
        400,
        await loginPage(interaction, { error: 'The username or password is too long.' }),
      );
    }
    const clientId = clientIdOf(interaction);
    try {
      // The login's audit event is stored with the interaction's result, in one statement.
      const { result: account, audit } = await unitOfWork(idp.sql, logger).holdAuditWrites(() =>
        accounts.verifyCredentials(username, password, {
          ip: clientAddress(req, trusted),
          clientId,
          via: 'interaction',
        }),
      );
      if (await secondFactor.begin(res, interaction, account.id, account)) {
        await unitOfWork(idp.sql, logger).storeAuditWrites(audit);
        return;
      }
      await finishLogin(req, res, interaction, account.id, audit);
    } catch (err) {
      const e = err as GatehouseError;
      if (!PASSWORD_REFUSALS_ON_PAGE.has(e.code)) throw err;
      const page = await loginPage(interaction, { error: e.message, username });
      for (const [name, value] of Object.entries(e.headers ?? {})) res.setHeader(name, value);
      sendPage(res, e.status, page);
    }
  }

  /**
   * Store the login on the interaction and send the browser on (oidc-provider's
   * `interactionFinished` with `mergeWithLastSubmission: false`), without reading the interaction a
   * second time: it is only updated while it exists (`saveIfPresent`), so one that a resume consumed
   * while the password was checked (a double-submitted form) fails the post as that second read did,
   * and is not re-created. An interaction bound to an existing session goes through
   * `interactionFinished`, which checks the session again. `audit` (the login's events, held back)
   * is stored in the same statement as the result, or before `interactionFinished`.
   */
  async function finishLogin(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: InteractionLike,
    accountId: string,
    audit: BatchedWrite[],
    amr: string[] = PASSWORD_AMR,
  ): Promise<void> {
    // `amr` (RFC 8176) and `acr` are oidc-provider's documented login result fields: they go into
    // ID tokens (and access tokens, provider.ts).
    const acr = acrOf(amr);
    if (interaction.session?.uid) {
      await unitOfWork(idp.sql, logger).storeAuditWrites(audit);
      await idp
        .provider()
        .interactionFinished(
          req,
          res,
          { login: { accountId, amr, acr } },
          { mergeWithLastSubmission: false },
        );
      return;
    }
    const result = interactionResultInPlace(interaction, { login: { accountId, amr, acr } });
    const stored = await unitOfWork(idp.sql, logger).saveIfPresent(result.save, audit);
    if (!stored) throw new errors.SessionNotFound('interaction session not found');
    res.statusCode = 303;
    res.setHeader('Location', result.returnTo);
    res.setHeader('Content-Length', '0');
    res.end();
  }

  async function confirm(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const interaction = await loadInteraction(req, res, uid);
    const fields = await formFields(req, ['csrf']);
    checkCsrf(uid, fields['csrf']);
    return grantConsent(req, res, interaction);
  }

  // A first-party client's consent is its configuration: an explicit prompt=consent (which
  // oidc-provider needs before it grants offline_access) must not show it a consent page either.
  async function isFirstParty(clientId: unknown): Promise<boolean> {
    if (typeof clientId !== 'string') return false;
    const client = await findProviderClient(idp.provider(), clientId);
    return client !== undefined && clientPolicy(client).firstParty;
  }

  async function grantConsent(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: InteractionLike,
  ): Promise<void> {
    if (interaction.prompt.name !== 'consent' || !interaction.session?.accountId) {
      throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    }
    const provider = idp.provider();
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({
          accountId: interaction.session.accountId,
          clientId: String(interaction.params['client_id']),
        });
    if (!grant) throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: interaction.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  async function abort(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    await loadInteraction(req, res, uid);
    const fields = await formFields(req, ['csrf']);
    checkCsrf(uid, fields['csrf']);
    await idp
      .provider()
      .interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
  }

  const actions: Record<string, (req: IncomingMessage, res: ServerResponse, uid: string) => Promise<void>> = {
    login,
    confirm,
    abort,
    ...secondFactor.actions,
    ...broker.actions,
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === broker.callbackPath) {
        if (req.method !== 'GET') {
          throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
        }
        return await broker.callback(req, res);
      }
      const rest = path.startsWith(`${mount}/`) ? path.slice(mount.length + 1).split('/') : [];
      const [uid, action, ...extra] = rest;
      if (!uid || !uidShape.test(uid) || extra.length > 0) throw coreErrors.create('GH_NOT_FOUND');
      if (action === undefined) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
        }
        return await show(req, res, uid);
      }
      const run = actions[action];
      if (!run) throw coreErrors.create('GH_NOT_FOUND');
      if (req.method !== 'POST')
        throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'POST' } });
      assertSameOrigin(req, allowedOrigins(req));
      await run(req, res, uid);
    } catch (err) {
      if (!req.complete) req.resume();
      const e = err as Partial<GatehouseError>;
      const status = typeof e.status === 'number' ? e.status : 500;
      if (status >= 500) logger.error({ err }, 'interaction failed');
      else logger.info({ code: e.code }, 'interaction request refused');
      const message =
        status >= 500 ? 'Something went wrong on our side. Please try again later.' : (e.message ?? '');
      const page = renderMessagePage({
        title: status === 404 ? 'Page not found' : 'Sign-in error',
        message,
        code: e.code ?? 'GH_INTERNAL',
        theme: config.theme,
      });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      for (const [name, value] of Object.entries(e.headers ?? {})) res.setHeader(name, value);
      sendPage(res, status, page);
    }
  }

  // Each request to the hosted pages is one unit of work: the login post reads its account with the
  // interaction and stores its audit events with the result (unit-of-work.ts).
  return (req, res) =>
    new UnitOfWork({ sql: idp.sql, logger, kind: 'interaction' }).run(() => serve(req, res));
}
