import { idpErrors } from '../errors.ts';
import { type Action, type ActionDeps, BASE, done, refusalOf, source } from './account-action.ts';
import { renderRecoveryCodesPage, renderTotpSetupPage } from './account-views.ts';

/** The second-factor forms: authenticator app, recovery codes, passkeys. */
export function factorActions(d: ActionDeps): Record<string, Action> {
  const { self, theme } = d;
  const { factors, passkeys } = d.mfa;
  return {
    'totp/setup': {
      fields: [],
      at: () => 'totp',
      async run({ caller, csrf }) {
        const profile = await self.profile(caller.accountId);
        const setup = await factors.beginTotp(caller.accountId, profile.username);
        return {
          status: 200,
          page: renderTotpSetupPage({
            base: BASE,
            csrf,
            qrCodeSvg: setup.qrCodeSvg,
            secret: setup.secret,
            theme,
          }),
        };
      },
    },
    'totp/confirm': {
      fields: ['code'],
      at: () => 'totp',
      async run({ caller, who, fields, csrf }) {
        try {
          const codes = await factors.confirmTotp(caller.accountId, fields['code']!, source(who));
          const title = 'Authenticator app on';
          return { status: 200, page: renderRecoveryCodesPage({ base: BASE, title, codes, theme }) };
        } catch (err) {
          const error = refusalOf(err);
          if (error.code !== 'IDP_MFA_CODE_INVALID' && error.code !== 'IDP_FIELD_MISSING') throw err;
          // The same key again (the setup already begun), the refusal at the code field.
          const profile = await self.profile(caller.accountId);
          const setup = await factors.beginTotp(caller.accountId, profile.username, { keepPending: true });
          return {
            status: error.status,
            page: renderTotpSetupPage({
              base: BASE,
              csrf,
              qrCodeSvg: setup.qrCodeSvg,
              secret: setup.secret,
              error,
              theme,
            }),
          };
        }
      },
    },
    'totp/remove': {
      fields: [],
      at: () => 'totp',
      async run({ caller, who }) {
        await factors.removeTotp(caller.accountId, source(who));
        return done('totp-removed', 'factors');
      },
    },
    'recovery-codes': {
      fields: [],
      at: () => 'totp',
      async run({ caller, who }) {
        const codes = await factors.regenerateRecoveryCodes(caller.accountId, source(who));
        return {
          status: 200,
          page: renderRecoveryCodesPage({ base: BASE, title: 'New recovery codes', codes, theme }),
        };
      },
    },
    'passkeys/register': {
      fields: ['credential', 'name'],
      at: () => 'passkey',
      async run({ caller, who, fields }) {
        let credential: unknown;
        try {
          credential = JSON.parse(fields['credential']!);
        } catch {
          throw idpErrors.create('IDP_FIELD_INVALID', 'Field credential must be a JSON object');
        }
        await passkeys.register(caller.accountId, credential, fields['name']!, source(who));
        return done('passkey-added', 'factors');
      },
    },
    'passkeys/rename': {
      fields: ['id', 'name'],
      // An empty name reaches the passkey's rule, so it is refused at the passkey's own field.
      required: ['id'],
      async run({ caller, fields }) {
        await passkeys.rename(caller.accountId, fields['id']!, fields['name']!);
        return done('passkey-renamed', 'factors');
      },
    },
    'passkeys/remove': {
      fields: ['id'],
      at: () => 'passkey',
      async run({ caller, who, fields }) {
        await passkeys.remove(caller.accountId, fields['id']!, source(who));
        return done('passkey-removed', 'factors');
      },
    },
  };
}
