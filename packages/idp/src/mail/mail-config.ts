import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { idpErrors } from '../errors.ts';

/**
 * The `idp.mail` section: how the identity provider sends email (verification and reset links,
 * "your password changed"). Without `smtp`, development mode keeps the mail in the development
 * mailbox (`GET /authentication/dev/mailbox`) and production sends nothing: the routes that need
 * mail answer IDP_MAIL_NOT_CONFIGURED. Secrets come from the environment like any setting:
 * `GATEHOUSE_IDP__MAIL__SMTP__PASSWORD`.
 */
export const mailConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'email delivery for verification and password-reset links (docs/recovery.md)',
  properties: {
    smtp: {
      type: 'object',
      additionalProperties: false,
      required: ['host'],
      description: 'the SMTP server that relays the mail; without it development mode uses the dev mailbox',
      properties: {
        host: { type: 'string', minLength: 1, maxLength: 253, description: 'SMTP server host name' },
        port: {
          type: 'integer',
          minimum: 1,
          maximum: 65535,
          default: 587,
          description: 'SMTP port (587 submission with STARTTLS, 465 implicit TLS)',
        },
        secure: {
          type: 'boolean',
          default: false,
          description: 'implicit TLS from the first byte (port 465); false: plain, upgraded with STARTTLS',
        },
        requireTls: {
          type: 'boolean',
          default: true,
          description: 'refuse to send unless STARTTLS succeeds (ignored when secure is true)',
        },
        user: { type: 'string', maxLength: 256, description: 'SMTP AUTH user name' },
        password: {
          type: 'string',
          maxLength: 1024,
          description:
            'SMTP AUTH password (set it from the environment: GATEHOUSE_IDP__MAIL__SMTP__PASSWORD)',
        },
        timeoutSeconds: {
          type: 'integer',
          minimum: 1,
          maximum: 120,
          default: 20,
          description: 'connection and greeting timeout',
        },
      },
    },
    from: {
      type: 'string',
      minLength: 3,
      maxLength: 320,
      default: 'Gatehouse <no-reply@localhost>',
      description: 'the From header of every mail',
    },
    productName: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      default: 'Gatehouse',
      description: 'the name the mails sign with',
    },
    accentColor: {
      type: 'string',
      pattern: '^#[0-9a-fA-F]{6}$',
      default: '#0b57d0',
      description: "the HTML mails' button colour (the hosted pages' --gh-accent)",
    },
    linkBaseUrl: {
      type: 'string',
      pattern: '^https?://[^/?#]+$',
      description:
        'origin of the links in the mails (where /authentication is served); default the issuer origin',
    },
  },
} as const;

/** The `idp.mail` section after validation (defaults filled in), derived from the schema. */
export type MailConfig = FromSchema<typeof mailConfigSchema>;
export type SmtpConfig = NonNullable<MailConfig['smtp']>;

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;

export function resolveMailConfig(partial: unknown = {}): MailConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial);
  const validate = ajv.compile(mailConfigSchema);
  if (!validate(copy)) {
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `invalid idp.mail configuration: ${ajv.errorsText(validate.errors)}`,
    );
  }
  const config = copy as MailConfig;
  if (config.smtp && (config.smtp.user === undefined) !== (config.smtp.password === undefined)) {
    throw idpErrors.create('IDP_CONFIG_INVALID', 'idp.mail.smtp: user and password go together');
  }
  return config;
}

/**
 * The origin of the links in the mails: `linkBaseUrl`, else the issuer's. A link carries a token that
 * opens the account, so production refuses one that would travel in clear.
 */
export function mailLinkBase(config: MailConfig, issuer: string, mode: 'development' | 'production'): string {
  const base = config.linkBaseUrl ?? new URL(issuer).origin;
  if (mode === 'production' && !base.startsWith('https://')) {
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `idp.mail.linkBaseUrl must be https in production (got ${base})`,
    );
  }
  return base;
}
