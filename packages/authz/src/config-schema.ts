import type { FromSchema } from 'json-schema-to-ts';
import { type AuthzLimits, defaultAuthzLimits } from './limits.ts';

/**
 * The `authz` section of the Gatehouse configuration (JSON Schema, ajv with `useDefaults`): the
 * permission service `gatehouse authz` runs, and its copy inside `gatehouse dev`. Storage is the shared
 * `storage` section; callers prove who they are with a service token from the identity provider.
 */

const limitDescriptions: Record<keyof AuthzLimits, string> = {
  maxResolutionDepth: 'nested levels (usersets, tuple-to-userset) one check may follow; OpenFGA: 25',
  listObjectsMaxResults: 'objects one ListObjects answer holds at most; OpenFGA: 1000',
  listUsersMaxResults: 'users one ListUsers answer holds at most; OpenFGA: 1000',
  maxTuplesPerWrite: 'tuples one Write may add and delete together; OpenFGA: 100',
  maxContextualTuples: 'contextual tuples one request may carry; OpenFGA: 100',
  maxChecksPerBatchCheck: 'checks one BatchCheck (or AuthZEN evaluations call) may carry; OpenFGA: 50',
  conditionCostLimit: 'cost units one condition evaluation may spend; OpenFGA: 100',
  maxModelBytes: "bytes of an authorization model's JSON form; OpenFGA: 256 KiB",
  defaultPageSize: 'page size of Read, ReadChanges and the lists when the caller names none; OpenFGA: 50',
  maxPageSize: 'largest page size a caller may ask for; OpenFGA: 100',
  concurrency: 'checks a ListObjects, ListUsers or BatchCheck runs at the same time',
};

/**
 * One limit's schema. The limits' schemas are built from `defaultAuthzLimits` (the one list of limits
 * and their defaults), so TypeScript sees a record of strings; this names each limit and its shape,
 * so that the section's derived type has every limit, defaulted.
 */
interface LimitSchema {
  readonly type: 'integer';
  readonly minimum: 1;
  readonly maximum: 100_000_000;
  readonly default: number;
  readonly description: string;
}

const limitProperties = Object.fromEntries(
  Object.entries(defaultAuthzLimits).map(([name, value]) => [
    name,
    {
      type: 'integer',
      minimum: 1,
      maximum: 100_000_000,
      default: value,
      description: limitDescriptions[name as keyof AuthzLimits],
    },
  ]),
) as Record<keyof AuthzLimits, LimitSchema>;

const scopeToken = { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' } as const;

export const authzConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'the permission service (`gatehouse authz`, and /authz in `gatehouse dev`); storage is `storage`',
  properties: {
    dev: {
      type: 'boolean',
      default: true,
      description: 'run the permission service inside `gatehouse dev`, behind the gateway at /authz',
    },
    port: {
      type: 'integer',
      minimum: 0,
      maximum: 65535,
      default: 8090,
      description: 'listen port of `gatehouse authz`',
    },
    defaultStoreId: {
      type: 'string',
      pattern: '^[0-9A-HJKMNP-TV-Z]{26}$',
      description:
        'store the AuthZEN API answers from when a request names none (the `store_id` property of its context)',
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "callers' service tokens, verified against the idp's JWKS over HTTP",
      properties: {
        issuer: {
          type: 'string',
          format: 'uri',
          description: 'exact iss of service tokens; default the idp issuer',
        },
        audience: {
          type: 'string',
          format: 'uri',
          description: 'aud a service token must carry; default server.publicUrl + /authz',
        },
        jwksUri: { type: 'string', format: 'uri', description: "the idp's JWKS; default <issuer>/jwks" },
        readScope: {
          ...scopeToken,
          default: 'authz:read',
          description: 'scope for checks, lists, reads and AuthZEN',
        },
        writeScope: {
          ...scopeToken,
          default: 'authz:write',
          description: 'scope for stores, models and tuple writes (it also allows reads)',
        },
        admins: {
          type: 'object',
          additionalProperties: false,
          required: ['audience'],
          description:
            "off unless set: people's tokens from the same idp for `audience` (the admin API's, as the admin console holds them) whose roles claim holds `role` may read and write",
          properties: {
            audience: {
              type: 'string',
              format: 'uri',
              description: "aud of the people's tokens (the admin API's)",
            },
            role: {
              type: 'string',
              minLength: 1,
              default: 'admin',
              description: 'role the person must hold',
            },
          },
        },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'one JSON line per decision and per write (who asked, what, the answer, why)',
      properties: {
        decisionSampleRate: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 1,
          description:
            'share of decisions (checks, AuthZEN evaluations) logged as an audit line; writes and refusals are always logged',
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: "the engine's limits; the defaults are OpenFGA's",
      properties: limitProperties,
    },
  },
} as const;

/** The `authz` section after validation (defaults filled in), derived from the schema. */
export type AuthzConfig = FromSchema<typeof authzConfigSchema>;
