import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, coreErrors, requestOrigin } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { brokeringOf } from '../brokering/broker-flow.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { HttpHandler, IdpRuntime } from '../index.ts';
import { mfaServiceOf } from '../mfa/mfa-service.ts';
import { assertSameOrigin } from '../pages/csrf.ts';
import { type RenderedPage, renderPage } from '../pages/layout.ts';
import { renderMessagePage } from '../pages/message-page.ts';
import { readAllowedFields } from '../session-api/session-api-fields.ts';
import { type Action, type ActionDeps, BASE, type Outcome, refusalOf } from './account-action.ts';
import { type AccountCaller, accountCaller, accountFormTokens } from './account-caller.ts';
import { type AccountView, accountStyles, renderAccountPage } from './account-views.ts';
import { factorActions } from './factor-actions.ts';
import { identityActions } from './identity-actions.ts';
import { profileActions } from './profile-actions.ts';
import { selfServiceOf, type Who } from './self-service.ts';
import { sessionActions } from './session-actions.ts';

/**
 * The account page at `/account`, served by the identity provider on the site's origin: a person
 * manages themself with plain HTML forms. Who they are comes from account-caller.ts (the gateway's
 * browser session or the first-party session cookie); behind the gateway the route is a page for
 * people (`browser: true`), so a signed-out visitor is sent to sign in and back.
 *
 * Every POST passes the cross-site rule (csrf.ts) and a form token bound to the account and session,
 * reads exactly its fields, and answers a 303 back to the page with a fixed notice, or the page
 * again with the refusal at its field (and the error's status), having changed nothing.
 *
 * | POST /account/…          | fields               | does                                          |
 * | ------------------------ | -------------------- | --------------------------------------------- |
 * | `email`                  | email                | change (through a verification link when mail is on) |
 * | `password`               | currentPassword, newPassword | change the password                   |
 * | `totp/setup`, `totp/confirm` | —, code          | set up an authenticator app; shows the recovery codes once |
 * | `totp/remove`, `recovery-codes` | —             | remove the app; ten new recovery codes        |
 * | `passkeys/options`, `passkeys/register` | —, credential + name | add a passkey (the page's script) |
 * | `passkeys/rename`, `passkeys/remove` | id (+ name) |                                              |
 * | `identities/link`, `identities/unlink` | provider | link another provider (via its sign-in), unlink |
 * | `sessions/end`, `sessions/end-others` | id, —   | sign out one session, or every other one      |
 * | `consents/revoke`        | id                   | revoke an application's access                |
 * | `sign-out`               | —                    | end this session                              |
 *
 * The forms are kept by section of the page: profile-actions.ts, factor-actions.ts,
 * identity-actions.ts and session-actions.ts; this file renders the page and runs a form.
 */
const bodyLimit = 16 * 1024;
const limits: Record<string, number> = {
  csrf: 64,
  email: 254,
  username: 128,
  currentPassword: 1024,
  newPassword: 1024,
  code: 16,
  credential: 12 * 1024,
  name: 64,
  id: 128,
  provider: 64,
};

export function createAccountPage(idp: IdpRuntime): HttpHandler {
  const accounts = accountServices(idp);
  const { trusted, config: accountsConfig } = accounts;
  const self = selfServiceOf(idp);
  const mfa = mfaServiceOf(idp);
  const { factors, passkeys } = mfa;
  const brokering = brokeringOf(idp);
  const tokens = accountFormTokens(idp.config.keyEncryptionSecret);
  const theme = accountsConfig.theme === '' ? undefined : accountsConfig.theme;
  const publicOrigins = [new URL(idp.issuer).origin, ...accountsConfig.allowedOrigins].map((o) =>
    o.toLowerCase(),
  );
  const issuerPath = new URL(idp.issuer).pathname.replace(/\/$/, '');
  const { logger } = idp;

  async function view(ctx: { caller: AccountCaller; csrf: string }, extra: Partial<AccountView> = {}) {
    const { accountId } = ctx.caller;
    const who: Who = { accountId, sid: ctx.caller.sid, ip: '', via: 'account-page' };
    const providers = brokering.config.providers.map((p) => ({ id: p.id, name: p.name }));
    const [profile, status, keys, list, consents, linked] = await Promise.all([
      self.profile(accountId),
      factors.status(accountId),
      passkeys.list(accountId),
      self.sessions(who),
      self.consents(accountId),
      providers.length ? brokering.identities.listOf(accountId) : Promise.resolve([]),
    ]);
    const page: AccountView = {
      base: BASE,
      csrf: ctx.csrf,
      profile,
      factors: status,
      passkeys: keys,
      sessions: list,
      consents,
      identities: {
        providers,
        linked: linked.map((l) => ({
          provider: l.provider,
          upstreamUsername: l.upstreamUsername,
          linkedAt: l.linkedAt.toISOString(),
        })),
      },
      theme,
      ...extra,
    };
    return renderAccountPage(page);
  }

  const deps: ActionDeps = { idp, self, mfa, brokering, accounts, theme, issuerPath };
  const actions: Record<string, Action> = {
    ...profileActions(deps),
    ...factorActions(deps),
    ...identityActions(deps),
    ...sessionActions(deps),
  };

  function send(res: ServerResponse, status: number, page: RenderedPage): void {
    res.writeHead(status, page.headers).end(page.html);
  }

  function signedOutPage(): RenderedPage {
    return renderPage({
      title: 'Sign in to see your account',
      styles: accountStyles,
      theme,
      body: `<h1>Sign in to see your account</h1>
<p>This page shows the account of the person signed in, and nobody is signed in here.</p>
<p><a href="/">Go to the start page</a></p>`,
    });
  }

  async function post(req: IncomingMessage, res: ServerResponse, caller: AccountCaller, name: string) {
    const act = Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (!act && name !== 'passkeys/options') throw coreErrors.create('GH_NOT_FOUND');
    const own = requestOrigin(req, trusted);
    assertSameOrigin(req, new Set(own ? [...publicOrigins, own] : publicOrigins));
    const allowed = ['csrf', ...(act?.fields ?? [])];
    const fields = await readAllowedFields(req, { bodyLimit, limits }, allowed, [
      'csrf',
      ...(act?.required ?? act?.fields ?? []),
    ]).catch((err: unknown) => {
      // A missing form token is a cross-site refusal, not a field to fill in.
      if (
        (err as { code?: string }).code === 'IDP_FIELD_MISSING' &&
        /csrf/.test(String((err as Error).message))
      )
        throw idpErrors.create('IDP_CSRF_REJECTED', 'Cross-site request refused: the form token is missing');
      throw err;
    });
    tokens.check(caller, fields['csrf']);
    const csrf = tokens.tokenFor(caller);
    const who: Who = {
      accountId: caller.accountId,
      sid: caller.sid,
      ip: clientAddress(req, trusted),
      via: 'account-page',
    };
    if (!act) {
      const profile = await self.profile(caller.accountId);
      sendJson(res, 200, await passkeys.registrationOptions(caller.accountId, profile.username));
      return;
    }
    let outcome: Outcome;
    try {
      outcome = await act.run({ req, caller, who, fields, csrf });
    } catch (err) {
      const error = refusalOf(err);
      // A refusal about the form itself (its token, its origin) is not a field's: the error page.
      if (error.code === 'IDP_CSRF_REJECTED' || error.code === 'IDP_UNAUTHENTICATED') throw err;
      logger.info({ code: error.code, action: name }, 'account page change refused');
      const key = name === 'passkeys/rename' ? `name-${fields['id'] ?? ''}` : (act.at?.(error.code) ?? name);
      const values: Record<string, string> = {};
      for (const f of act.fields) if (fields[f] !== undefined && f !== 'credential') values[f] = fields[f];
      send(res, error.status, await view({ caller, csrf }, { errors: { [key]: error }, values }));
      return;
    }
    if ('redirect' in outcome) {
      res
        .writeHead(303, {
          location: outcome.redirect,
          'cache-control': 'no-store',
          ...(outcome.headers ?? {}),
        })
        .end();
    } else {
      send(res, outcome.status, outcome.page);
    }
  }

  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      const caller = await accountCaller(idp, req);
      if (path === BASE || path === `${BASE}/`) {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
        }
        if (!caller) return send(res, 401, signedOutPage());
        const doneKey = new URL(req.url ?? '/', 'http://x').searchParams.get('done') ?? undefined;
        return send(res, 200, await view({ caller, csrf: tokens.tokenFor(caller) }, { done: doneKey }));
      }
      const name = path.slice(BASE.length + 1);
      if (req.method !== 'POST') {
        throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'POST' } });
      }
      if (!caller) throw idpErrors.create('IDP_UNAUTHENTICATED');
      await post(req, res, caller, name);
    } catch (err) {
      const e = err as { status?: number; code?: string; message?: string; headers?: Record<string, string> };
      const status = typeof e.status === 'number' ? e.status : 500;
      if (status >= 500) logger.error({ err }, 'account page failed');
      else logger.info({ code: e.code, path: path.slice(0, 100) }, 'account page request refused');
      if (!req.complete) req.resume();
      if (res.headersSent) return void res.destroy();
      const page = renderMessagePage({
        title:
          status === 401
            ? 'Sign in first'
            : status === 403
              ? 'Not allowed'
              : status === 404
                ? 'Not found'
                : 'Cannot do that',
        message: status >= 500 ? 'Something went wrong.' : String(e.message ?? ''),
        code: e.code,
        theme,
      });
      res.writeHead(status, { ...page.headers, ...(e.headers ?? {}) }).end(page.html);
    }
  };
}
