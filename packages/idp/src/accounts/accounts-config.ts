import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { idpErrors } from '../errors.ts';

/**
 * Configuration of accounts, brute-force protection and first-party sessions, mounted at
 * `idp.accounts`. Every key has a default; unknown keys are refused.
 */
const limitSchema = (defaults: {
  freeAttempts: number;
  lockoutAfter: number;
  windowSeconds: number;
  lockoutSeconds: number;
}) =>
  ({
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      freeAttempts: {
        type: 'integer',
        minimum: 0,
        maximum: 1000,
        default: defaults.freeAttempts,
        description: 'failed logins allowed without any delay',
      },
      delayBaseMs: {
        type: 'integer',
        minimum: 0,
        maximum: 60000,
        default: 1000,
        description: 'delay after the first failure beyond freeAttempts; doubles with each further failure',
      },
      delayMaxMs: { type: 'integer', minimum: 0, maximum: 600000, default: 30000 },
      lockoutAfter: {
        type: 'integer',
        minimum: 1,
        maximum: 100000,
        default: defaults.lockoutAfter,
        description: 'failed logins within windowSeconds that lock logins for lockoutSeconds',
      },
      windowSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: defaults.windowSeconds },
      lockoutSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: defaults.lockoutSeconds },
    },
  }) as const;

export const accountsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    registration: {
      type: 'boolean',
      default: true,
      description: 'allow POST /authentication/registration (self-service sign-up)',
    },
    registrationRoles: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._:-]{0,63}$' },
      default: ['user'],
      description: 'roles a self-registered account starts with',
    },
    registrationsPerHour: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 20,
      description: 'self-service registrations allowed per source address per hour',
    },
    passwordHash: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'argon2id parameters; stored hashes made with others are rehashed at the next login',
      properties: {
        memoryCost: { type: 'integer', minimum: 19456, maximum: 4194304, default: 19456, description: 'KiB' },
        timeCost: { type: 'integer', minimum: 2, maximum: 20, default: 2 },
        parallelism: { type: 'integer', minimum: 1, maximum: 16, default: 1 },
      },
    },
    bruteForce: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        account: limitSchema({ freeAttempts: 3, lockoutAfter: 10, windowSeconds: 900, lockoutSeconds: 900 }),
        source: limitSchema({ freeAttempts: 20, lockoutAfter: 100, windowSeconds: 900, lockoutSeconds: 900 }),
      },
    },
    session: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ttlSeconds: {
          type: 'integer',
          minimum: 60,
          maximum: 2592000,
          default: 28800,
          description: 'lifetime of a first-party session (gatehouse_session cookie)',
        },
      },
    },
    trustedProxies: {
      type: 'array',
      items: { type: 'string' },
      default: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
      description:
        'addresses or CIDRs of the proxies in front (the gateway) whose X-Forwarded-For is believed, through any number of them; the client address counts failed logins and goes into audit events',
    },
    theme: {
      type: 'string',
      maxLength: 8192,
      pattern: '^[^<]*$',
      default: '',
      description:
        'CSS added after the hosted pages\' styles, e.g. ":root { --gh-accent: #7b1fa2; }" (variables: --gh-bg, --gh-card, --gh-text, --gh-muted, --gh-accent, --gh-accent-text, --gh-danger, --gh-border, --gh-focus, --gh-radius, --gh-font)',
    },
    allowedOrigins: {
      type: 'array',
      items: { type: 'string', pattern: '^https?://[^/]+$' },
      default: [],
      description:
        'origins besides server.publicUrl allowed to post forms to /authentication/* and the login page',
    },
  },
} as const;

/**
 * The `idp.accounts` section after validation (defaults filled in), derived from the schema: every
 * key has a default, so every key is present.
 */
export type AccountsConfig = FromSchema<typeof accountsConfigSchema>;

/** The limits of one brute-force counter (`bruteForce.account`, `bruteForce.source`). */
export type BruteForceLimit = AccountsConfig['bruteForce']['account'];

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;

/** Validate a partial section and fill in its defaults (what the CLI's loadConfig does for the whole file). */
export function resolveAccountsConfig(partial: unknown = {}): AccountsConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial);
  const validate = ajv.compile(accountsConfigSchema);
  if (!validate(copy)) {
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `invalid idp.accounts configuration: ${ajv.errorsText(validate.errors)}`,
    );
  }
  return copy as AccountsConfig;
}
