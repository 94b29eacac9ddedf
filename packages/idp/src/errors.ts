import { defineErrors } from '@gatehouse/core';

/**
 * Errors of the identity provider (non-OAuth endpoints and start-up). OAuth endpoints answer with
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
});
