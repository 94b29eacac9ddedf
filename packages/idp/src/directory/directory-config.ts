import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { FilterParser } from 'ldapts';
import { idpErrors } from '../errors.ts';

/**
 * The `idp.directory` section: an LDAP directory whose people sign in with their directory
 * password. Off unless `enabled`; when enabled, `url` and `userSearch.base` are required and every
 * configured filter must parse (checked at start-up by `resolveDirectoryConfig`).
 */
const rolePattern = '^[a-z0-9][a-z0-9._:-]{0,63}$';
const attributePattern = '^[A-Za-z][A-Za-z0-9-]{0,63}$';

export const directoryConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'sign-in with an LDAP directory (docs/federation.md)',
  properties: {
    enabled: { type: 'boolean', default: false, description: 'let directory users sign in' },
    url: {
      type: 'string',
      pattern: '^ldaps?://[^/?#\\s]+/?$',
      description: 'ldap://host:port or ldaps://host:port',
    },
    startTls: {
      type: 'boolean',
      default: false,
      description: 'upgrade an ldap:// connection with StartTLS before binding',
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        caFile: { type: 'string', description: 'PEM file of the CA that signed the directory certificate' },
        serverName: {
          type: 'string',
          description: 'name to check the certificate against; default the URL host',
        },
      },
    },
    bindDn: {
      type: 'string',
      maxLength: 1024,
      description: 'DN of the service account that searches the directory; empty = anonymous search',
    },
    bindPassword: {
      type: 'string',
      maxLength: 1024,
      description: 'its password; prefer GATEHOUSE_IDP__DIRECTORY__BIND_PASSWORD to keep it out of the file',
    },
    precedence: {
      type: 'string',
      enum: ['local-first', 'directory-first'],
      default: 'local-first',
      description:
        'local-first: a local account with a password keeps its name; directory-first: the directory answers first, local accounts only for names it does not know',
    },
    userSearch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        base: { type: 'string', maxLength: 1024, description: 'search base of user entries' },
        scope: { type: 'string', enum: ['sub', 'one'], default: 'sub' },
        filter: {
          type: 'string',
          maxLength: 1024,
          default: '(objectClass=inetOrgPerson)',
          description:
            'what a user entry is; the typed username is added as an equality on attributes.username',
        },
      },
    },
    attributes: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        username: { type: 'string', pattern: attributePattern, default: 'uid' },
        email: { type: 'string', pattern: attributePattern, default: 'mail' },
        name: { type: 'string', pattern: attributePattern, default: 'cn' },
      },
    },
    groups: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: {
          type: 'string',
          enum: ['memberOf', 'search', 'none'],
          default: 'memberOf',
          description:
            "memberOf: the user entry's memberOf attribute; search: groups whose member attribute names the user",
        },
        base: { type: 'string', maxLength: 1024, description: 'search base of groups (mode search)' },
        filter: { type: 'string', maxLength: 1024, default: '(objectClass=groupOfNames)' },
        memberAttribute: { type: 'string', pattern: attributePattern, default: 'member' },
        roles: {
          type: 'object',
          maxProperties: 1000,
          additionalProperties: {
            type: 'array',
            maxItems: 64,
            items: { type: 'string', pattern: rolePattern },
          },
          default: {},
          description: 'group DN → Gatehouse roles (DNs compare without case)',
        },
        defaultRoles: {
          type: 'array',
          items: { type: 'string', pattern: rolePattern },
          default: [],
          description: 'roles every directory user gets',
        },
      },
    },
    disabledFilter: {
      type: 'string',
      maxLength: 1024,
      description:
        'an entry matching this filter is disabled (pwdAccountLockedTime always disables), e.g. (employeeType=inactive)',
    },
    connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 3000 },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 60000,
      default: 5000,
      description: 'time one directory operation (search, bind) may take',
    },
    poolSize: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 4,
      description: 'connections to the directory at most; further logins wait up to timeoutMs',
    },
    syncIntervalSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 86400,
      default: 900,
      description:
        'how often imported accounts are checked against the directory (disabled when removed or disabled there); 0 = never',
    },
  },
} as const;

/** The `idp.directory` section after validation (defaults filled in), derived from the schema. */
export type DirectoryConfig = FromSchema<typeof directoryConfigSchema>;

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;

function invalid(message: string): never {
  throw idpErrors.create('IDP_CONFIG_INVALID', `invalid idp.directory configuration: ${message}`);
}

function checkFilter(name: string, filter: string | undefined): void {
  if (filter === undefined) return;
  try {
    FilterParser.parseString(filter);
  } catch {
    invalid(`${name} is not an LDAP filter (RFC 4515)`);
  }
}

/** Validate the section (schema, then what a schema cannot say) and fill in its defaults. */
export function resolveDirectoryConfig(
  partial: unknown = {},
  mode: 'development' | 'production' = 'development',
): DirectoryConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial);
  const validate = ajv.compile(directoryConfigSchema);
  if (!validate(copy)) invalid(ajv.errorsText(validate.errors));
  const config = copy as DirectoryConfig;
  if (!config.enabled) return config;
  if (!config.url) invalid('url is required');
  if (!config.userSearch.base) invalid('userSearch.base is required');
  if (config.groups.mode === 'search' && !config.groups.base)
    invalid('groups.base is required for mode search');
  if (config.startTls && config.url.startsWith('ldaps:')) invalid('startTls is for ldap:// URLs');
  if (config.bindDn && !config.bindPassword) invalid('bindPassword is required with bindDn');
  // Directory passwords cross this connection: in production they must not cross it in clear.
  if (mode === 'production' && config.url.startsWith('ldap:') && !config.startTls) {
    invalid('an ldap:// URL needs startTls in production (or use ldaps://)');
  }
  checkFilter('userSearch.filter', config.userSearch.filter);
  checkFilter('groups.filter', config.groups.filter);
  checkFilter('disabledFilter', config.disabledFilter);
  return config;
}
