import type { IncomingHttpHeaders } from 'node:http';
import type { Verifier } from '@gatehouse/sdk';
import type { Principal, RouteConfig } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import { limitKeyFor } from '../limits/limit-key.ts';
import { rateLimitHeaders } from '../limits/rate-limit.ts';
import { isPreflight, preflightAnswer } from '../routing/cors.ts';
import { type NormalizeResult, normalizeRequestTarget } from '../routing/path-normalize.ts';
import type { RouteTable } from '../routing/route-table.ts';
import type { RouteMatch } from '../routing/router.ts';
import { authenticate, unauthenticated } from './authenticate.ts';
import { authorize } from './policy.ts';
import { checkStepUp } from './step-up.ts';

/**
 * The checks every request from outside goes through, in this order, shared by the proxy path and
 * the forward-auth endpoint so the two can never disagree:
 *
 * | step                     | refuses with                                            |
 * | ------------------------ | ------------------------------------------------------- |
 * | normalize                | 400 GW_PATH_AMBIGUOUS                                   |
 * | route                    | 400 GW_PATH_AMBIGUOUS (case conflict), 404 GW_NOT_FOUND |
 * | internal                 | 404 GW_NOT_FOUND                                        |
 * | CORS preflight (cors.ts) | answered here, before any credential: 403 GW_CORS_REFUSED|
 * | rate limit (ip, header)  | 429 GW_RATE_LIMITED                                     |
 * | authenticate             | 401 SDK_* (bad token or session)                        |
 * | authorize                | 401 SDK_TOKEN_MISSING, 403 SDK_INSUFFICIENT_ROLE/SCOPE, |
 * |                          | 403 GW_PERMISSION_DENIED, 503 GW_DECISION_UNAVAILABLE   |
 * | step-up                  | 401 GW_STEP_UP_REQUIRED (RFC 9470)                      |
 * | rate limit (user, client)| 429 GW_RATE_LIMITED                                     |
 *
 * On a public route a credential is still verified when present (to pass the identity on), and
 * a bad one is ignored rather than refused: the route asks for nobody.
 */
export interface AccessRequest {
  method: string;
  host: string | undefined;
  target: string | undefined;
  /** `normalizeRequestTarget(target)` when the caller already has it: a path is normalized once. */
  normalized?: NormalizeResult;
  headers: IncomingHttpHeaders;
  clientAddress: string;
  /** RFC 8705 thumbprint of the verified TLS client certificate, when there is one. */
  clientCertificateThumbprint?: string | undefined;
  /** BFF: resolves the browser session cookie to its stored access token (the route's client's). */
  browserSession?:
    | ((cookie: string | undefined, route: RouteConfig) => Promise<string | undefined>)
    | undefined;
}

export interface AccessGranted {
  match: RouteMatch;
  /** Normalized path sent upstream (prefix stripped) with the original query. */
  upstreamTarget: string;
  /** Normalized path, for logs. */
  path: string;
  principal: Principal | undefined;
  /** Headers describing the rate limit, to send with the answer. */
  rateHeaders: Record<string, string> | undefined;
  /** A CORS preflight the route allows: answer 204 with these headers, send nothing upstream. */
  preflight?: Record<string, string>;
}

export interface AccessHooks {
  /** Called with the normalized path as soon as it is known (access log). */
  onPath?(path: string): void;
  onRoute?(routeId: string, route: RouteConfig): void;
  /** Called with the verified caller before authorization, so a refusal can say whom it refused. */
  onPrincipal?(principal: Principal): void;
}

export async function checkAccess(
  r: AccessRequest,
  table: RouteTable,
  verifier: Pick<Verifier, 'verifyAccessToken' | 'verifyAuthorization' | 'verifySessionToken'>,
  hooks: AccessHooks = {},
): Promise<AccessGranted> {
  const norm = r.normalized ?? normalizeRequestTarget(r.target);
  if (!norm.ok)
    throw gatewayErrors.create('GW_PATH_AMBIGUOUS', `The request path is ambiguous: ${norm.reason}`);
  hooks.onPath?.(norm.path);

  // A preflight asks about the method the page will use: route it as that method.
  const preflight = isPreflight(r.method, r.headers);
  const method = preflight ? (r.headers['access-control-request-method'] as string) : r.method;
  const found = table.router.find(r.host, method, norm.path);
  if (found.kind === 'case-conflict') {
    throw gatewayErrors.create('GW_PATH_AMBIGUOUS', 'The request path differs in case from a route');
  }
  if (found.kind === 'none') throw gatewayErrors.create('GW_NOT_FOUND');
  const { route } = found.match;
  hooks.onRoute?.(route.id, route);
  if (route.policy === 'internal') throw gatewayErrors.create('GW_NOT_FOUND');
  if (preflight && route.cors) {
    return {
      match: found.match,
      upstreamTarget: '',
      path: norm.path,
      principal: undefined,
      rateHeaders: undefined,
      preflight: preflightAnswer(route.cors, r.headers),
    };
  }

  // A limit by address or header needs no identity: count before verifying anything, so a flood of
  // bad tokens is limited too. A limit by user or client waits for the principal.
  const limiter = table.limits.get(route.id)?.rate;
  const limitFirst =
    route.rateLimit !== undefined &&
    (route.rateLimit.key === 'ip' || typeof route.rateLimit.key === 'object');
  let rateHeaders: Record<string, string> | undefined;
  const takeToken = async (principal: Principal | undefined) => {
    if (!limiter || !route.rateLimit) return;
    const rate = await limiter.take(limitKeyFor(route.rateLimit.key, { ...r, principal }));
    rateHeaders = rateLimitHeaders(limiter, rate);
    if (!rate.allowed) {
      rateHeaders['retry-after'] = String(Math.max(1, rate.retryAfterSec));
      throw gatewayErrors.create('GW_RATE_LIMITED', undefined, { headers: rateHeaders });
    }
  };
  if (limitFirst) await takeToken(undefined);

  let principal: Principal | undefined;
  const authOptions = {
    sessionCookie: table.config.auth.sessionCookie,
    clientCertificateThumbprint: r.clientCertificateThumbprint,
    browserSession: r.browserSession
      ? (cookie: string | undefined) => r.browserSession!(cookie, route)
      : undefined,
  };
  if (route.policy === 'public') {
    principal = await authenticate(r.headers, verifier, authOptions).catch(() => undefined);
  } else {
    principal = await authenticate(r.headers, verifier, authOptions);
  }
  if (principal) hooks.onPrincipal?.(principal);
  // Only a permission policy waits (policy.ts): the others decide here without an await.
  const decided = authorize(route.policy, principal, found.match.params, table, {
    method: r.method,
    clientAddress: r.clientAddress,
  });
  if (decided !== undefined) await decided;
  if (route.stepUp) {
    if (!principal) throw unauthenticated();
    checkStepUp(route.stepUp, principal);
  }
  if (!limitFirst && limiter !== undefined) await takeToken(principal);

  const upstreamTarget =
    norm.query === '' ? found.match.upstreamPath : `${found.match.upstreamPath}?${norm.query}`;
  return { match: found.match, upstreamTarget, path: norm.path, principal, rateHeaders };
}
