import { emailPattern } from '../accounts/email.ts';
import { passwordMaxLength, passwordMinLength } from '../accounts/password-policy.ts';
import { idpClientConfigSchema } from '../config-schema.ts';

/**
 * The admin API's schemas: request bodies, path and query parameters, and answers. admin-api.ts
 * validates against them (ajv) and openapi.ts writes them into the document, so the document cannot
 * drift from what the server accepts.
 */
const name = { type: 'string', pattern: '^[a-z0-9][a-z0-9._:-]{0,63}$' } as const;

const password = {
  type: 'string',
  minLength: passwordMinLength,
  maxLength: passwordMaxLength,
  description: 'not a common password, not containing the username (else 400 IDP_PASSWORD_*)',
} as const;

export const adminBodySchemas = {
  CreateUser: {
    type: 'object',
    additionalProperties: false,
    required: ['username', 'password'],
    properties: {
      username: {
        type: 'string',
        minLength: 3,
        maxLength: 32,
        description:
          'letters, digits 0-9 and single . _ - between them, of one script (else 400 IDP_USERNAME_INVALID)',
      },
      password,
      email: { type: 'string', maxLength: 254, format: 'email', pattern: emailPattern },
      enabled: { type: 'boolean' },
      roles: { type: 'array', maxItems: 100, items: name },
      groups: { type: 'array', maxItems: 100, items: name },
    },
  },
  UpdateUser: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      email: { type: ['string', 'null'], maxLength: 254, format: 'email', pattern: emailPattern },
      enabled: { type: 'boolean' },
    },
  },
  SetPassword: {
    type: 'object',
    additionalProperties: false,
    required: ['password'],
    properties: { password },
  },
  CreateNamed: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name,
      description: { type: 'string', maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
    },
  },
  // The config file's client schema, plus the cross-field rules clientMetadataFromConfig enforces, so a
  // client breaking them is refused with the field's code before any metadata is built.
  CreateClient: {
    ...idpClientConfigSchema,
    allOf: [
      {
        description: 'a client without a secret to check (none, private_key_jwt) carries none',
        if: {
          required: ['tokenEndpointAuthMethod'],
          properties: { tokenEndpointAuthMethod: { enum: ['none', 'private_key_jwt'] } },
        },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
        then: { not: { anyOf: [{ required: ['clientSecret'] }, { required: ['clientSecretSha256'] }] } },
      },
      {
        description: 'the authorization_code grant (a default) needs redirectUris',
        if: {
          anyOf: [
            { not: { required: ['grantTypes'] } },
            { properties: { grantTypes: { contains: { const: 'authorization_code' } } } },
          ],
        },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited
        then: { required: ['redirectUris'], properties: { redirectUris: { minItems: 1 } } },
      },
      { description: 'jwks or jwksUri, not both', not: { required: ['jwks', 'jwksUri'] } },
    ],
  },
  UpdateClient: {
    type: 'object',
    additionalProperties: false,
    required: ['enabled'],
    properties: { enabled: { type: 'boolean' } },
  },
} as const;

/** The name of a request body's schema. */
export type AdminBodyName = keyof typeof adminBodySchemas;

/** No control characters. */
export const noControls = '^[^\\u0000-\\u001f\\u007f]*$';

/**
 * Every path parameter: what gateways refuse in a path (encoded separators, control characters)
 * the API refuses too, so it takes the same names whichever way it is reached.
 */
export const pathParameterSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[^/\\\\;\\u0000-\\u001f\\u007f]*$',
} as const;

/** A free-text query filter. */
export const queryText = { type: 'string', maxLength: 256, pattern: noControls } as const;
/** How many items a list answers at most. */
export const pageLimit = { type: 'integer', minimum: 1, maximum: 500 } as const;
/** RFC 3339 only (what `date-time` means): Date.parse alone takes `0.5` or `May 1`. */
export const dateTime = {
  type: 'string',
  format: 'date-time',
  pattern:
    '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[Tt ]([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d{1,9})?([Zz]|[+-]([01]\\d|2[0-3]):[0-5]\\d)$',
} as const;

/** The answers' schemas, and the error body every refusal has. */
export const adminAnswerSchemas = {
  Error: {
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string' }, message: { type: 'string' } },
  },
  User: {
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid' },
      username: { type: 'string' },
      email: { type: ['string', 'null'] },
      enabled: { type: 'boolean' },
      roles: { type: 'array', items: { type: 'string' }, description: 'direct and through groups' },
      directRoles: { type: 'array', items: { type: 'string' } },
      groups: { type: 'array', items: { type: 'string' } },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      secondFactor: {
        type: 'boolean',
        description: 'an authenticator app is set up (read of one user; absent from lists)',
      },
    },
  },
  SecondFactors: {
    type: 'object',
    properties: {
      totp: { type: 'boolean', description: 'an authenticator app is set up' },
      recoveryCodesLeft: { type: 'integer' },
      passkeys: { type: 'integer' },
    },
  },
  Directory: {
    type: 'object',
    required: ['enabled'],
    description: 'idp.directory as configured (see docs/configuration.md), plus status when enabled',
    properties: {
      enabled: { type: 'boolean' },
      url: { type: 'string' },
      status: {
        type: 'object',
        properties: { reachable: { type: 'boolean' }, error: { type: 'string' } },
      },
    },
  },
  Role: { type: 'object', properties: { name: { type: 'string' }, description: { type: 'string' } } },
  Group: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      description: { type: 'string' },
      roles: { type: 'array', items: { type: 'string' } },
      members: { type: 'array', items: { type: 'string', format: 'uuid' } },
    },
  },
  Client: {
    type: 'object',
    properties: {
      clientId: { type: 'string' },
      source: { type: 'string', enum: ['config', 'demo', 'admin'] },
      enabled: { type: 'boolean' },
      metadata: { type: 'object', description: 'oidc-provider client metadata, without the secret' },
    },
  },
  Session: {
    type: 'object',
    properties: {
      sid: { type: 'string' },
      userId: { type: 'string' },
      username: { type: ['string', 'null'] },
      createdAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: 'string', format: 'date-time' },
      endedAt: { type: ['string', 'null'], format: 'date-time' },
      endReason: { type: ['string', 'null'] },
      sourceIp: { type: ['string', 'null'] },
      userAgent: { type: ['string', 'null'] },
    },
  },
  Key: {
    type: 'object',
    properties: {
      kid: { type: 'string' },
      alg: { type: 'string' },
      state: { type: 'string', enum: ['next', 'active', 'retired'] },
      createdAt: { type: 'string', format: 'date-time' },
      activatedAt: { type: ['string', 'null'], format: 'date-time' },
      retiredAt: { type: ['string', 'null'], format: 'date-time' },
      notAfter: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  AuditEvent: {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      type: { type: 'string' },
      actor: { type: ['string', 'null'] },
      subject: { type: ['string', 'null'] },
      clientId: { type: ['string', 'null'] },
      sourceIp: { type: ['string', 'null'] },
      at: { type: 'string', format: 'date-time' },
      details: { type: 'object' },
    },
  },
} as const;
