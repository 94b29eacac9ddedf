import { emailPattern } from '../accounts/email.ts';
import { passwordMaxLength, passwordMinLength } from '../accounts/password-policy.ts';
import { idpClientConfigSchema } from '../config-schema.ts';

/**
 * The admin API's OpenAPI 3.1 document, served at `/auth/admin/openapi.json`. The request body
 * schemas here are also what admin-api.ts validates bodies against (ajv), so the document cannot
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

const noControls = '^[^\\u0000-\\u001f\\u007f]*$';
const queryText = { type: 'string', maxLength: 256, pattern: noControls } as const;
const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, schema?: unknown) =>
  schema ? { description, ...json(schema) } : { description };
const errors = {
  '400': { description: 'Invalid input', ...json(ref('Error')) },
  '401': { description: 'No valid bearer token', ...json(ref('Error')) },
  '403': { description: 'The token has neither the admin role nor the admin scope', ...json(ref('Error')) },
  '404': { description: 'Not found', ...json(ref('Error')) },
};
const pathParam = (n: string, description: string) => ({
  name: n,
  in: 'path',
  required: true,
  // What gateways refuse in a path (encoded separators, control characters) the API refuses too.
  schema: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^/\\\\;\\u0000-\\u001f\\u007f]*$' },
  description,
});

function op(summary: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    summary,
    security: [{ bearer: [] }, { session: [] }],
    // An operation's own description of a status (e.g. what its 404 means) wins over the generic one.
    responses: { ...errors, ...responses },
    ...extra,
  };
}

export function adminOpenApi(serverUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse identity provider — admin API',
      version: '1',
      description:
        'Users, roles, groups, clients, sessions, signing keys and audit events. Every operation needs a bearer access token from this identity provider whose `roles` include `admin` or whose `scope` includes `admin`; the caller is re-checked on every request (its client must still exist; a client must still hold the role; a user must still exist, be enabled and hold the role). Alternatively, the first-party session cookie of a user who holds `admin` (a browser console: a change made with the cookie must come from this site and carry `X-Gatehouse-Csrf: 1`, else 403 IDP_CSRF_REJECTED). Errors are `{ "error": CODE, "message": text }`.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: { type: 'apiKey', in: 'cookie', name: 'gatehouse_session' },
      },
      schemas: {
        ...adminBodySchemas,
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
      },
    },
    paths: {
      '/users': {
        get: op(
          'List users',
          { '200': ok('Users', { type: 'array', items: ref('User') }) },
          {
            parameters: [
              {
                name: 'search',
                in: 'query',
                schema: { type: 'string', maxLength: 128, pattern: noControls },
              },
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
              { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
            ],
          },
        ),
        post: op(
          'Create a user',
          {
            '201': ok('Created', ref('User')),
            '409': ok('IDP_USERNAME_TAKEN or IDP_EMAIL_TAKEN', ref('Error')),
          },
          {
            requestBody: { required: true, ...json(ref('CreateUser')) },
          },
        ),
      },
      '/users/{id}': {
        parameters: [pathParam('id', 'user id')],
        get: op('Get a user', { '200': ok('User', ref('User')) }),
        patch: op(
          'Change email or enabled (disabling ends the user\u2019s sessions)',
          {
            '200': ok('User', ref('User')),
            '409': ok('IDP_EMAIL_TAKEN: another account has the email', ref('Error')),
          },
          {
            requestBody: { required: true, ...json(ref('UpdateUser')) },
          },
        ),
        delete: op('Delete a user', { '204': ok('Deleted') }),
      },
      '/users/{id}/password': {
        parameters: [pathParam('id', 'user id')],
        put: op(
          'Set a new password (ends the user\u2019s sessions)',
          { '204': ok('Changed') },
          {
            requestBody: { required: true, ...json(ref('SetPassword')) },
          },
        ),
      },
      '/users/{id}/second-factors': {
        parameters: [pathParam('id', 'user id')],
        get: op('The user\u2019s second factors: authenticator app set up, recovery codes left, passkeys', {
          '200': ok('Second factors', ref('SecondFactors')),
        }),
        delete: op('Reset the user\u2019s second factors (authenticator app, recovery codes and passkeys)', {
          '204': ok('Removed'),
          '404': ok('No such user or none set up', ref('Error')),
        }),
      },
      '/users/{id}/identities': {
        parameters: [pathParam('id', 'user id')],
        get: op('Upstream identities linked to the user (brokering)', {
          '200': ok('Linked identities', { type: 'array', items: { type: 'object' } }),
        }),
      },
      '/users/{id}/identities/{provider}': {
        parameters: [pathParam('id', 'user id'), pathParam('provider', 'provider id')],
        delete: op('Unlink the user\u2019s identity of a provider (never the last way in)', {
          '204': ok('Unlinked'),
          '404': ok('No such user or identity', ref('Error')),
          '409': ok('IDP_BROKER_LAST_SIGN_IN', ref('Error')),
        }),
      },
      '/brokering/providers': {
        get: op(
          'Upstream identity providers from the config file (secrets not shown), each with `status: { reachable, error? }`: its discovery document (OIDC) or authorization endpoint fetched now',
          {
            '200': ok('Providers', { type: 'array', items: { type: 'object' } }),
          },
        ),
      },
      '/directory': {
        get: op(
          'The LDAP directory people sign in with: its configuration (the bind password only as "(set)") and whether its server answers a TCP connection now',
          { '200': ok('Directory', ref('Directory')) },
        ),
      },
      '/users/{id}/roles/{role}': {
        parameters: [pathParam('id', 'user id'), pathParam('role', 'role name')],
        put: op('Assign a role', { '204': ok('Assigned') }),
        delete: op('Remove a role', { '204': ok('Removed') }),
      },
      '/roles': {
        get: op('List roles', { '200': ok('Roles', { type: 'array', items: ref('Role') }) }),
        post: op(
          'Create a role',
          { '201': ok('Created', ref('Role')), '409': ok('Exists', ref('Error')) },
          {
            requestBody: { required: true, ...json(ref('CreateNamed')) },
          },
        ),
      },
      '/roles/{name}': {
        parameters: [pathParam('name', 'role name')],
        delete: op('Delete a role (and its assignments)', { '204': ok('Deleted') }),
      },
      '/groups': {
        get: op('List groups', { '200': ok('Groups', { type: 'array', items: ref('Group') }) }),
        post: op(
          'Create a group',
          { '201': ok('Created', ref('Group')), '409': ok('Exists', ref('Error')) },
          {
            requestBody: { required: true, ...json(ref('CreateNamed')) },
          },
        ),
      },
      '/groups/{name}': {
        parameters: [pathParam('name', 'group name')],
        get: op('Get a group', { '200': ok('Group', ref('Group')) }),
        delete: op('Delete a group', { '204': ok('Deleted') }),
      },
      '/groups/{name}/members/{userId}': {
        parameters: [pathParam('name', 'group name'), pathParam('userId', 'user id')],
        put: op('Add a member', { '204': ok('Added') }),
        delete: op('Remove a member', { '204': ok('Removed') }),
      },
      '/groups/{name}/roles/{role}': {
        parameters: [pathParam('name', 'group name'), pathParam('role', 'role name')],
        put: op('Give the group a role', { '204': ok('Added') }),
        delete: op('Take a role from the group', { '204': ok('Removed') }),
      },
      '/clients': {
        get: op('List clients', { '200': ok('Clients', { type: 'array', items: ref('Client') }) }),
        post: op(
          'Create a client (a confidential client without a secret gets a generated one, returned once)',
          {
            '201': ok('Created', {
              type: 'object',
              properties: { client: ref('Client'), clientSecret: { type: 'string' } },
            }),
            '409': ok('Exists', ref('Error')),
            '400': ok(
              'Invalid input; IDP_CLIENT_INVALID for metadata this deployment does not take (scopes it does not offer, an ID-token algorithm it does not sign with, a web origin that is not scheme://host[:port])',
              ref('Error'),
            ),
          },
          { requestBody: { required: true, ...json(ref('CreateClient')) } },
        ),
      },
      '/clients/{clientId}': {
        parameters: [pathParam('clientId', 'client id')],
        get: op('Get a client', { '200': ok('Client', ref('Client')) }),
        patch: op(
          'Enable or disable a client: disabling revokes every token it holds on every gateway at once',
          { '200': ok('Client', ref('Client')) },
          { requestBody: { required: true, ...json(ref('UpdateClient')) } },
        ),
        delete: op('Delete a client: every token it holds is revoked on every gateway at once', {
          '204': ok('Deleted'),
        }),
      },
      '/clients/{clientId}/secret': {
        parameters: [pathParam('clientId', 'client id')],
        post: op(
          'Rotate the client secret; the new secret is returned once. With revokeTokens=true every token the client holds is revoked too',
          { '200': ok('New secret', { type: 'object', properties: { clientSecret: { type: 'string' } } }) },
          {
            parameters: [{ name: 'revokeTokens', in: 'query', schema: { type: 'boolean', default: false } }],
          },
        ),
      },
      '/sessions': {
        get: op(
          'List first-party sessions, newest first',
          { '200': ok('Sessions', { type: 'array', items: ref('Session') }) },
          {
            parameters: [
              { name: 'userId', in: 'query', schema: queryText },
              { name: 'active', in: 'query', schema: { type: 'boolean' } },
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            ],
          },
        ),
      },
      '/sessions/{sid}': {
        parameters: [pathParam('sid', 'session id')],
        delete: op('Revoke a session: every gateway drops its tokens within a second', {
          '204': ok('Revoked'),
        }),
      },
      '/keys': {
        get: op('List signing keys (public information only)', {
          '200': ok('Keys', { type: 'array', items: ref('Key') }),
        }),
      },
      '/keys/rotate': {
        post: op('Rotate the signing keys now', {
          '200': ok('Rotated', {
            type: 'object',
            properties: { activated: { type: ['string', 'null'] }, retired: { type: ['string', 'null'] } },
          }),
        }),
      },
      '/audit': {
        get: op(
          'Query audit events, newest first',
          { '200': ok('Events', { type: 'array', items: ref('AuditEvent') }) },
          {
            parameters: [
              { name: 'type', in: 'query', schema: queryText },
              { name: 'actor', in: 'query', schema: queryText },
              { name: 'subject', in: 'query', schema: queryText },
              { name: 'clientId', in: 'query', schema: queryText },
              { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
              { name: 'until', in: 'query', schema: { type: 'string', format: 'date-time' } },
              { name: 'beforeId', in: 'query', schema: { type: 'integer', minimum: 0 } },
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            ],
          },
        ),
      },
    },
  };
}
