import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { idpErrors } from '../errors.ts';

/** The `idp.recovery` section: lifetimes of the emailed links and how often mail may be asked for. */
export const recoveryConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'email verification and password reset links (docs/recovery.md)',
  properties: {
    verificationTtlSeconds: {
      type: 'integer',
      minimum: 300,
      maximum: 604800,
      default: 86400,
      description: 'how long an email verification link works',
    },
    resetTtlSeconds: {
      type: 'integer',
      minimum: 300,
      maximum: 86400,
      default: 3600,
      description: 'how long a password reset link works',
    },
    mailsPerHour: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 5,
      description: 'links sent per hour to one address, and asked for per account (each kind apart)',
    },
    requestsPerHourPerIp: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      default: 30,
      description: 'reset or verification requests per hour from one source address',
    },
  },
} as const;

/** The `idp.recovery` section after validation (defaults filled in), derived from the schema. */
export type RecoveryConfig = FromSchema<typeof recoveryConfigSchema>;

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;

export function resolveRecoveryConfig(partial: unknown = {}): RecoveryConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial);
  const validate = ajv.compile(recoveryConfigSchema);
  if (!validate(copy)) {
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `invalid idp.recovery configuration: ${ajv.errorsText(validate.errors)}`,
    );
  }
  return copy as RecoveryConfig;
}
