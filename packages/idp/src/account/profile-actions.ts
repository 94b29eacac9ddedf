import { type Action, type ActionDeps, done } from './account-action.ts';

/** Where a refusal of a catalog code shows: at the field it is about. */
function passwordField(code: string): string {
  if (code === 'IDP_CURRENT_PASSWORD_WRONG' || code.startsWith('IDP_LOGIN_')) return 'currentPassword';
  if (code.startsWith('IDP_PASSWORD_')) return 'newPassword';
  return 'password-form';
}

/** The profile forms: change the email address and the password. */
export function profileActions(d: ActionDeps): Record<string, Action> {
  const { self } = d;
  return {
    email: {
      fields: ['email'],
      at: () => 'email',
      async run({ who, fields }) {
        const { pending } = await self.changeEmail(who, fields['email']!);
        return done(pending ? 'email-sent' : 'email-changed', 'profile');
      },
    },
    password: {
      // `username` is the hidden field that tells password managers whose password this is.
      fields: ['username', 'currentPassword', 'newPassword'],
      required: ['currentPassword', 'newPassword'],
      at: passwordField,
      async run({ who, fields }) {
        await self.changePassword(who, fields['currentPassword']!, fields['newPassword']!);
        return done('password', 'password');
      },
    },
  };
}
