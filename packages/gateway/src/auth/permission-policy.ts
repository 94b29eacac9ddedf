import { createAuthz } from '@gatehouse/authz';
import type { Logger, Sql } from '@gatehouse/core';
import {
  createPermissionClient,
  createServiceClient,
  isSdkError,
  type PermissionBackend,
  type PermissionClient,
  permissionObject,
  permissionSubject,
} from '@gatehouse/sdk';
import type { GatewayAuthzConfig } from '../config-schema.ts';
import type { PermissionRule, Principal } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';

/**
 * The route `permission` policy on the permission engine (`gateway.authz`): the engine in this
 * process on the shared storage, or the authz service's OpenFGA API over HTTP; either way through
 * the sdk's permission client, so the decision cache and its change-feed watcher are the same ones
 * services use.
 * - The question: the caller as `user:{sub}` (a service as `client:{client_id}`), the rule's
 *   relation, its object with `{param}` from the route pattern, and optional condition context.
 * - Fails closed: the engine not answering is 503 GW_DECISION_UNAVAILABLE (the caller may be
 *   entitled, the request can be retried); a question it refuses (an unknown type or relation,
 *   a missing condition parameter) is logged and answered 403 GW_PERMISSION_DENIED, as is a
 *   subject or object that cannot be built.
 */
export interface PermissionPolicy {
  decide(
    rule: PermissionRule,
    principal: Principal,
    params: Record<string, string>,
    request: PermissionRequestFacts,
  ): Promise<void>;
  close(): Promise<void>;
}

/** What condition context may be taken from besides the token. */
export interface PermissionRequestFacts {
  method: string;
  clientAddress: string;
}

export interface PermissionPolicyDeps {
  logger: Logger;
  /** The shared storage: without `authz.url`, the engine runs here on it. */
  sql?: Sql | undefined;
  /** Default issuer for the service token's discovery. */
  issuer: string;
}

export function createPermissionPolicy(
  config: GatewayAuthzConfig,
  deps: PermissionPolicyDeps,
): PermissionPolicy {
  const logger = deps.logger;
  let backend: PermissionBackend | undefined;
  if (!config.url) {
    if (!deps.sql) {
      throw gatewayErrors.create(
        'GW_CONFIG_INVALID',
        'gateway.authz.url is required when the gateway has no shared storage to run the engine on',
      );
    }
    backend = createAuthz({ sql: deps.sql });
  }
  const t = config.serviceToken;
  const serviceClient = t
    ? createServiceClient({
        ...(t.tokenEndpoint ? { tokenEndpoint: t.tokenEndpoint } : { issuer: t.issuer ?? deps.issuer }),
        clientId: t.clientId,
        credentials: { clientSecret: t.clientSecret },
        ...(t.scope ? { scope: t.scope } : {}),
      })
    : undefined;
  const clients = new Map<string, PermissionClient>();

  function clientFor(store: string): PermissionClient {
    let client = clients.get(store);
    if (!client) {
      client = createPermissionClient({
        store,
        ...(backend
          ? { backend }
          : {
              url: config.url,
              serviceClient,
              token: t?.audience ? { audience: t.audience } : undefined,
              timeoutMs: config.timeoutMs,
            }),
        cache: config.cache.enabled
          ? { maxEntries: config.cache.maxEntries, ttlMs: config.cache.ttlMs }
          : false,
        watch: config.watch,
        logger,
      });
      clients.set(store, client);
    }
    return client;
  }

  return {
    async decide(rule, principal, params, request) {
      const store = rule.store ?? config.store;
      const user = permissionSubject(principal, rule.subject);
      const object = permissionObject(rule.object, params);
      if (!store || user === undefined || object === undefined)
        throw gatewayErrors.create('GW_PERMISSION_DENIED');
      let context: Record<string, unknown> | undefined;
      if (rule.context) {
        context = {};
        for (const [name, source] of Object.entries(rule.context)) {
          const value = contextValue(source, principal, request);
          if (value !== undefined) context[name] = value;
        }
      }
      let allowed: boolean;
      try {
        allowed = await clientFor(store).check({ user, relation: rule.relation, object, context });
      } catch (err) {
        if (isSdkError(err, 'SDK_PERMISSION_QUERY_INVALID')) {
          logger.warn(
            { store, relation: rule.relation, object, err: err.message },
            'permission question refused',
          );
          throw gatewayErrors.create('GW_PERMISSION_DENIED');
        }
        throw gatewayErrors.create('GW_DECISION_UNAVAILABLE', undefined, { cause: err });
      }
      if (!allowed) throw gatewayErrors.create('GW_PERMISSION_DENIED');
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}

function contextValue(source: string, principal: Principal, request: PermissionRequestFacts): unknown {
  if (source === 'request.time') return new Date().toISOString();
  if (source === 'request.ip') return request.clientAddress;
  if (source === 'request.method') return request.method;
  const claim = source.slice('token.'.length);
  return Object.hasOwn(principal.claims, claim) ? principal.claims[claim] : undefined;
}
