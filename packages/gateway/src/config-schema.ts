import type { FromSchema } from 'json-schema-to-ts';
import { auditSchema } from './config-schema/audit.ts';
import { assertionSchema, authSchema, forwardAuthSchema } from './config-schema/auth.ts';
import { bffSchema } from './config-schema/bff.ts';
import {
  listenerTlsSchema,
  portSchema,
  trustedProxiesSchema,
  trustedProxyDepthSchema,
} from './config-schema/listener.ts';
import { decisionSchema, gatewayAuthzSchema } from './config-schema/permission.ts';
import { routeSchema } from './config-schema/route.ts';

/** The `gateway` section of the configuration file: one schema per section, in `config-schema/`. */
export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    port: portSchema,
    tls: listenerTlsSchema,
    trustedProxies: trustedProxiesSchema,
    trustedProxyDepth: trustedProxyDepthSchema,
    auth: authSchema,
    decision: decisionSchema,
    authz: gatewayAuthzSchema,
    audit: auditSchema,
    forwardAuth: forwardAuthSchema,
    assertion: assertionSchema,
    bff: bffSchema,
    routes: { type: 'array', items: routeSchema, default: [] },
  },
} as const;

/**
 * The `gateway` section after validation (`validateGatewayConfig`, defaults filled in), derived from
 * the schema: a key with a `default` is always present.
 */
export type GatewayConfig = FromSchema<typeof gatewayConfigSchema>;
export type GatewayAuthzConfig = NonNullable<GatewayConfig['authz']>;
export type BffConfig = GatewayConfig['bff'];
/** One route as the pipeline reads it. */
export type RouteConfig = GatewayConfig['routes'][number];
