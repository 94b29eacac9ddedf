import { defineErrors } from '@gatehouse/core';

/**
 * The identity provider's one error catalog: start-up and configuration, clients, and then accounts,
 * the login pages, the first-party session API and the admin API. OAuth endpoints answer with
 * oidc-provider's `error` / `error_description` bodies instead. Every code is listed in docs/errors.md.
 */
export const idpErrors = defineErrors({
  IDP_CONFIG_INVALID: { status: 500, message: 'The identity provider configuration is invalid' },
  IDP_DEV_SECRET_IN_PRODUCTION: {
    status: 500,
    message: 'idp.keyEncryptionSecret is the development default; set a secret of your own in production',
  },
  IDP_DEMO_IN_PRODUCTION: {
    status: 500,
    message: 'Demo clients and accounts are refused in production mode',
  },
  IDP_KEY_DECRYPT_FAILED: {
    status: 500,
    message:
      'A stored signing key cannot be decrypted: idp.keyEncryptionSecret differs from the one that stored it',
  },
  IDP_NO_SIGNING_KEY: { status: 500, message: 'No active signing key' },
  IDP_CLIENT_INVALID: { status: 400, message: 'The client metadata is invalid' },
  IDP_CLIENT_NOT_FOUND: { status: 404, message: 'No such client' },
  // Accounts, pages, session and admin APIs
  IDP_INVALID_CREDENTIALS: { status: 401, message: 'Username or password is wrong' },
  IDP_LOGIN_THROTTLED: { status: 429, message: 'Too many failed logins: wait before trying again' },
  IDP_LOGIN_LOCKED: { status: 429, message: 'Too many failed logins: login is locked for a while' },
  IDP_USERNAME_INVALID: {
    status: 400,
    message:
      'Username must be 3 to 32 letters or digits of one script, optionally separated by single . _ or -',
  },
  IDP_USERNAME_TAKEN: { status: 409, message: 'This username is taken' },
  IDP_EMAIL_INVALID: { status: 400, message: 'Email address is not valid' },
  IDP_EMAIL_TAKEN: { status: 409, message: 'This email address is already used' },
  IDP_PASSWORD_TOO_SHORT: { status: 400, message: 'Password must have at least 8 characters' },
  IDP_PASSWORD_TOO_LONG: { status: 400, message: 'Password must have at most 128 characters' },
  IDP_PASSWORD_COMMON: { status: 400, message: 'This password is too common: choose another one' },
  IDP_PASSWORD_CONTAINS_USERNAME: { status: 400, message: 'Password must not contain the username' },
  IDP_FIELD_MISSING: { status: 400, message: 'A required field is missing' },
  IDP_FIELD_UNKNOWN: { status: 400, message: 'The request has a field this endpoint does not accept' },
  IDP_FIELD_TOO_LONG: { status: 400, message: 'A field is too long' },
  IDP_FIELD_INVALID: { status: 400, message: 'A field has an invalid value' },
  IDP_CSRF_REJECTED: { status: 403, message: 'Cross-site request refused' },
  IDP_UNAUTHENTICATED: { status: 401, message: 'Not logged in' },
  IDP_FORBIDDEN: { status: 403, message: 'This operation needs the admin role or scope' },
  IDP_REGISTRATION_THROTTLED: {
    status: 429,
    message: 'Too many registrations from this address: try again later',
  },
  IDP_REGISTRATION_DISABLED: { status: 403, message: 'Registration is disabled' },
  IDP_NOT_FOUND: { status: 404, message: 'Not found' },
  IDP_ALREADY_EXISTS: { status: 409, message: 'Already exists' },
  IDP_NAME_INVALID: {
    status: 400,
    message: 'Name must be 1 to 64 characters: lower-case ASCII letters, digits, and . _ : -',
  },
  // Directory sign-in (directory/)
  IDP_DIRECTORY_UNAVAILABLE: {
    status: 503,
    message: 'The directory cannot be reached: directory accounts cannot sign in right now, try again later',
  },
  IDP_DIRECTORY_ACCOUNT_CONFLICT: {
    status: 409,
    message: 'A local account has this username: the directory account cannot sign in here',
  },
  IDP_DIRECTORY_PASSWORD: {
    status: 409,
    message: "This account's password is its directory's: change it there",
  },
  // Second factors (mfa/)
  IDP_MFA_REQUIRED: { status: 401, message: 'Enter the code from your authenticator app' },
  IDP_MFA_ENROLMENT_REQUIRED: {
    status: 401,
    message: 'Your role requires a second factor: set up an authenticator app to sign in',
  },
  IDP_MFA_CODE_INVALID: { status: 401, message: 'The code is wrong or was already used' },
  IDP_MFA_TOKEN_INVALID: {
    status: 401,
    message: 'This sign-in step expired or does not exist: sign in again',
  },
  IDP_MFA_ALREADY_ENROLLED: {
    status: 409,
    message: 'An authenticator app is already set up for this account',
  },
  IDP_MFA_NOT_ENROLLING: { status: 409, message: 'Start the authenticator setup first' },
  IDP_MFA_NOT_ENROLLED: { status: 409, message: 'No authenticator app is set up for this account' },
  // Account recovery and email (recovery/, mail/)
  IDP_RECOVERY_TOKEN_INVALID: {
    status: 400,
    message: 'This link is not valid: ask for a new one',
  },
  IDP_RECOVERY_TOKEN_USED: { status: 400, message: 'This link was already used: ask for a new one' },
  IDP_RECOVERY_TOKEN_EXPIRED: { status: 400, message: 'This link has expired: ask for a new one' },
  IDP_RECOVERY_THROTTLED: { status: 429, message: 'Too many emails asked for: wait before trying again' },
  IDP_EMAIL_MISSING: { status: 409, message: 'This account has no email address' },
  IDP_EMAIL_ALREADY_VERIFIED: { status: 409, message: 'This email address is already verified' },
  IDP_MAIL_NOT_CONFIGURED: {
    status: 503,
    message: 'Email delivery is not configured (idp.mail.smtp): ask your administrator',
  },
  IDP_MAIL_FAILED: { status: 502, message: 'The email could not be sent: try again later' },
  IDP_DEV_MAILBOX_UNAVAILABLE: {
    status: 404,
    message: 'The development mailbox exists only in development mode without idp.mail.smtp',
  },
  // Passkeys (mfa/passkeys.ts): one answer for every refused assertion or registration, the reason
  // (origin, RP ID, challenge, counter, signature) in the audit trail and the log only.
  IDP_PASSKEY_INVALID: { status: 401, message: 'The passkey could not be verified: try again' },
  IDP_PASSKEY_NOT_FOUND: { status: 404, message: 'No such passkey on this account' },
  // Upstream identity providers (brokering/)
  IDP_BROKER_PROVIDER_UNKNOWN: { status: 404, message: 'No such sign-in provider' },
  IDP_BROKER_STATE_INVALID: {
    status: 400,
    message: 'This sign-in response is unknown, expired or was already used: start again',
  },
  IDP_BROKER_RESPONSE_INVALID: {
    status: 400,
    message: 'The sign-in provider answered with a response that failed validation',
  },
  IDP_BROKER_UPSTREAM_DENIED: { status: 400, message: 'The sign-in provider did not sign you in' },
  IDP_BROKER_UPSTREAM_UNAVAILABLE: {
    status: 502,
    message: 'The sign-in provider cannot be reached: try again later',
  },
  IDP_BROKER_IDENTITY_TAKEN: {
    status: 409,
    message: 'This identity, or one of this provider, is already linked to an account',
  },
  IDP_BROKER_IDENTITY_NOT_FOUND: { status: 404, message: 'No identity of this provider is linked' },
  IDP_BROKER_LAST_SIGN_IN: {
    status: 409,
    message: 'This is the last way to sign in to the account: add a password or another provider first',
  },
  IDP_BROKER_NO_ACCOUNT: {
    status: 403,
    message: 'No account is linked to this identity: sign in to your account to link it',
  },
  // The account page and its session-API routes (account/)
  IDP_CURRENT_PASSWORD_WRONG: {
    status: 403,
    message: 'The current password is wrong: nothing was changed',
  },
  IDP_SESSION_NOT_FOUND: { status: 404, message: 'No such active session of yours' },
  IDP_SESSION_CURRENT: {
    status: 409,
    message: 'This is the session you are using: sign out instead',
  },
  IDP_CONSENT_NOT_FOUND: { status: 404, message: 'No such application access of yours' },
  IDP_ACCOUNT_CLIENT_REFUSED: {
    status: 403,
    message: 'Only a first-party client of this identity provider may manage the account',
  },
  IDP_INTERACTION_NOT_FOUND: {
    status: 400,
    message: 'This login request expired or does not exist: start again',
  },
});

export type IdpErrorCode = keyof typeof idpErrors.catalog;
