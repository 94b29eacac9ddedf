import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { idpErrors } from '../errors.ts';

/** The `idp.mfa` section: second factors (TOTP and recovery codes) and who must have one. */
export const mfaConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'second factors: TOTP, recovery codes and passkeys (docs/mfa.md)',
  properties: {
    requiredRoles: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._:-]{0,63}$' },
      default: [],
      description:
        'people with any of these roles must use a second factor; one without is asked to set it up at sign-in',
    },
    issuer: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      default: 'Gatehouse',
      description: 'the name authenticator apps show next to the account',
    },
    challengeTtlSeconds: {
      type: 'integer',
      minimum: 60,
      maximum: 1800,
      default: 300,
      description: 'time between the password step and the second-factor step of one sign-in',
    },
    totpToleranceSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 90,
      default: 30,
      description: 'clock drift accepted between the server and the authenticator app, each way',
    },
    passkeys: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'WebAuthn relying party of passkeys (docs/mfa.md); checked at start-up',
      properties: {
        rpId: {
          type: 'string',
          pattern: '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$',
          description: "the RP ID passkeys are bound to; default the issuer's host name",
        },
        rpName: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          description: 'the name the browser shows when a passkey is made; default idp.mfa.issuer',
        },
        origins: {
          type: 'array',
          items: { type: 'string', pattern: '^https?://[^/?#]+$' },
          minItems: 1,
          maxItems: 16,
          description: "origins the sign-in pages are served from; default the issuer's origin",
        },
        challengeTtlSeconds: {
          type: 'integer',
          minimum: 30,
          maximum: 600,
          default: 120,
          description: 'time a registration or sign-in challenge stays valid (it is used once)',
        },
      },
    },
  },
} as const;

/** The `idp.mfa` section after validation (defaults filled in), derived from the schema. */
export type MfaConfig = FromSchema<typeof mfaConfigSchema>;

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;

export function resolveMfaConfig(partial: unknown = {}): MfaConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial);
  const validate = ajv.compile(mfaConfigSchema);
  if (!validate(copy)) {
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `invalid idp.mfa configuration: ${ajv.errorsText(validate.errors)}`,
    );
  }
  return copy as MfaConfig;
}
