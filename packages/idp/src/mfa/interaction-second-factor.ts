import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatehouseError } from '@gatehouse/core';
import { clientAddress, escapeHtml } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import type { RenderedPage } from '../pages/layout.ts';
import { clientIdOf, type InteractionStepDeps } from '../protocol/interaction-step.ts';
import type { InteractionLike } from '../protocol/interactions.ts';
import { requestsMfa } from './acr.ts';
import type { MfaChallenge } from './mfa-challenges.ts';
import { mfaServiceOf } from './mfa-service.ts';
import { PASSKEY_SCRIPT, passkeyBlock } from './passkey-script.ts';
import { renderCodePage, renderRecoveryCodesPage, renderSetupPage } from './second-factor-pages.ts';

/**
 * The second step of a sign-in on the hosted pages (interactions.ts hands over once the password is
 * right): `/interaction/:uid/second-factor` checks a code or a recovery code,
 * `/interaction/:uid/totp-setup` activates the authenticator an account must set up (role policy) and
 * shows its recovery codes once, `/interaction/:uid/continue` goes on from there. The login result
 * then carries `amr` (RFC 8176: `pwd`, `otp`, `mfa`), which oidc-provider puts in the ID token.
 */
export const PASSWORD_AMR = ['pwd'];
export const SECOND_FACTOR_AMR = ['pwd', 'otp', 'mfa'];

type Action = (req: IncomingMessage, res: ServerResponse, uid: string) => Promise<void>;

export interface InteractionSecondFactorDeps extends InteractionStepDeps {
  /** The login page again with `error` (a refused passwordless passkey). */
  loginPageWithError(interaction: InteractionLike, error: string): Promise<RenderedPage>;
}

/** Refusals shown on the page again (with their status) rather than as an error page. */
const shownOnPage = new Set([
  'IDP_MFA_CODE_INVALID',
  'IDP_PASSKEY_INVALID',
  'IDP_LOGIN_THROTTLED',
  'IDP_LOGIN_LOCKED',
]);

/** RFC 8176 methods of a passkey sign-in: as a second factor, or alone with user verification. */
export const passkeyAmr = (method: 'hwk' | 'swk', withPassword: boolean) =>
  withPassword ? ['pwd', method, 'mfa'] : [method, 'mfa'];

export function interactionSecondFactor(idp: IdpRuntime, deps: InteractionSecondFactorDeps) {
  const { accounts, trusted } = accountServices(idp);
  const { factors, challenges, passkeys } = mfaServiceOf(idp);
  const passkeyActions = (base: string) => ({
    action: `${base}/passkey`,
    optionsAction: `${base}/passkey-options`,
  });

  async function page(uid: string, challenge: MfaChallenge, error?: string): Promise<RenderedPage> {
    const base = `${deps.mount}/${uid}`;
    const common = { csrf: deps.csrfFor(uid), abortAction: `${base}/abort`, error, theme: deps.theme };
    if (challenge.step === 'code') {
      const withPasskey = passkeys.relyingParty.usable && (await passkeys.count(challenge.accountId)) > 0;
      return renderCodePage({
        ...common,
        action: `${base}/second-factor`,
        passkey: withPasskey ? passkeyActions(base) : undefined,
      });
    }
    const account = await accounts.get(challenge.accountId);
    const setup = await factors.beginTotp(challenge.accountId, account?.username ?? 'account', {
      keepPending: true,
    });
    return renderSetupPage({
      ...common,
      action: `${base}/totp-setup`,
      qrCodeSvg: setup.qrCodeSvg,
      secret: setup.secret,
    });
  }

  /** The challenge of this interaction at `step`, or IDP_INTERACTION_NOT_FOUND. */
  async function challengeAt(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    step: MfaChallenge['step'],
  ) {
    const interaction = await deps.loadInteraction(req, res, uid);
    if (interaction.prompt.name !== 'login') throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    const challenge = await challenges.ofInteraction(uid);
    if (challenge?.step !== step) throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    return { interaction, challenge };
  }

  const source = (req: IncomingMessage, interaction: InteractionLike) => ({
    ip: clientAddress(req, trusted),
    clientId: clientIdOf(interaction),
    via: 'interaction',
  });

  async function showRefusal(res: ServerResponse, uid: string, challenge: MfaChallenge, err: unknown) {
    const e = err as GatehouseError;
    if (!shownOnPage.has(e.code)) throw err;
    for (const [name, value] of Object.entries(e.headers ?? {})) res.setHeader(name, value);
    deps.sendPage(res, e.status, await page(uid, challenge, e.message));
  }

  const secondFactor: Action = async (req, res, uid) => {
    const fields = await deps.formFields(req, ['csrf', 'code', 'recoveryCode']);
    deps.checkCsrf(uid, fields['csrf']);
    const { interaction, challenge } = await challengeAt(req, res, uid, 'code');
    try {
      await factors.verify(
        challenge.accountId,
        fields['recoveryCode'] ? { recoveryCode: fields['recoveryCode'] } : { code: fields['code'] ?? '' },
        source(req, interaction),
      );
    } catch (err) {
      return showRefusal(res, uid, challenge, err);
    }
    await challenges.endForInteraction(uid);
    await deps.finishLogin(req, res, interaction, challenge.accountId, [], SECOND_FACTOR_AMR);
  };

  const totpSetup: Action = async (req, res, uid) => {
    const fields = await deps.formFields(req, ['csrf', 'code']);
    deps.checkCsrf(uid, fields['csrf']);
    const { interaction, challenge } = await challengeAt(req, res, uid, 'enrol');
    let codes: string[];
    try {
      codes = await factors.confirmTotp(challenge.accountId, fields['code'] ?? '', source(req, interaction));
    } catch (err) {
      return showRefusal(res, uid, challenge, err);
    }
    await challenges.setForInteraction(uid, { ...challenge, step: 'done', amr: SECOND_FACTOR_AMR });
    deps.sendPage(
      res,
      200,
      renderRecoveryCodesPage({
        action: `${deps.mount}/${uid}/continue`,
        csrf: deps.csrfFor(uid),
        codes,
        theme: deps.theme,
      }),
    );
  };

  const continueLogin: Action = async (req, res, uid) => {
    const fields = await deps.formFields(req, ['csrf']);
    deps.checkCsrf(uid, fields['csrf']);
    const { interaction, challenge } = await challengeAt(req, res, uid, 'done');
    await challenges.endForInteraction(uid);
    await deps.finishLogin(
      req,
      res,
      interaction,
      challenge.accountId,
      [],
      challenge.amr ?? SECOND_FACTOR_AMR,
    );
  };

  /** The sign-in in progress may use a passkey: passwordless (no challenge) or as its second factor. */
  async function passkeyStep(req: IncomingMessage, res: ServerResponse, uid: string) {
    const interaction = await deps.loadInteraction(req, res, uid);
    if (interaction.prompt.name !== 'login') throw idpErrors.create('IDP_INTERACTION_NOT_FOUND');
    const challenge = await challenges.ofInteraction(uid);
    if (challenge && challenge.step !== 'code') throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    return { interaction, challenge };
  }

  const passkeyOptions: Action = async (req, res, uid) => {
    const fields = await deps.formFields(req, ['csrf']);
    deps.checkCsrf(uid, fields['csrf']);
    const { challenge } = await passkeyStep(req, res, uid);
    sendJson(res, 200, await passkeys.assertionOptions(`interaction:${uid}`, challenge?.accountId));
  };

  const passkeySignIn: Action = async (req, res, uid) => {
    const fields = await deps.formFields(req, ['csrf', 'credential']);
    deps.checkCsrf(uid, fields['csrf']);
    const { interaction, challenge } = await passkeyStep(req, res, uid);
    let response: unknown;
    try {
      response = JSON.parse(fields['credential'] ?? '');
    } catch {
      response = undefined;
    }
    let accountId: string;
    let amr: string[];
    try {
      const used = await passkeys.verifyAssertion(
        `interaction:${uid}`,
        response,
        // Alone, a passkey must have checked its user (PIN, biometric) to stand for two factors.
        { accountId: challenge?.accountId, requireUserVerification: !challenge },
        source(req, interaction),
      );
      accountId = used.accountId;
      amr = passkeyAmr(used.method, challenge !== undefined);
      if (!challenge && !(await accounts.get(accountId))?.enabled) {
        throw idpErrors.create('IDP_PASSKEY_INVALID');
      }
    } catch (err) {
      if (challenge) return showRefusal(res, uid, challenge, err);
      const e = err as GatehouseError;
      if (e.code !== 'IDP_PASSKEY_INVALID') throw err;
      return deps.sendPage(res, e.status, await deps.loginPageWithError(interaction, e.message));
    }
    if (challenge) await challenges.endForInteraction(uid);
    await deps.finishLogin(req, res, interaction, accountId, [], amr);
  };

  return {
    /** The passkey button and script of the login page, or undefined when passkeys cannot work here. */
    loginPasskey(uid: string): { html: string; script: string } | undefined {
      if (!passkeys.relyingParty.usable) return undefined;
      return {
        html: passkeyBlock({
          ...passkeyActions(`${deps.mount}/${uid}`),
          csrf: deps.csrfFor(uid),
          label: 'Use a passkey',
          conditional: true,
          escape: escapeHtml,
        }),
        script: PASSKEY_SCRIPT,
      };
    },
    /**
     * After a right password: whether a second step is due; when it is, its page is answered (and
     * the audit events of the password step are the caller's to store).
     */
    async begin(
      res: ServerResponse,
      interaction: InteractionLike,
      accountId: string,
      known: { secondFactor?: boolean | undefined },
    ): Promise<boolean> {
      let step = await factors.afterPassword(accountId, known);
      // A client asking for the MFA level (acr_values, or its default_acr_values) gets a second
      // factor from everyone: a person without one sets one up, as the role policy would have it.
      if (step === 'none' && requestsMfa(interaction.params['acr_values'])) step = 'enrol';
      if (step === 'none') return false;
      const challenge: MfaChallenge = { accountId, step };
      await challenges.setForInteraction(interaction.uid, challenge);
      deps.sendPage(res, 200, await page(interaction.uid, challenge));
      return true;
    },
    /** The page of a second step in progress (a reload), or undefined. */
    async pageInProgress(uid: string): Promise<RenderedPage | undefined> {
      const challenge = await challenges.ofInteraction(uid);
      return challenge && challenge.step !== 'done' ? page(uid, challenge) : undefined;
    },
    actions: {
      'second-factor': secondFactor,
      'totp-setup': totpSetup,
      continue: continueLogin,
      'passkey-options': passkeyOptions,
      passkey: passkeySignIn,
    } as Record<string, Action>,
  };
}
