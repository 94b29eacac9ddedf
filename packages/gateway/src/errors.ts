import { defineErrors } from '@gatehouse/core';

/**
 * Every error the gateway answers with. Codes are stable; messages may change.
 * 401 answers carry `WWW-Authenticate` (RFC 6750), 429 answers `Retry-After`.
 */
export const gatewayErrors = defineErrors({
  // Request shape
  GW_PATH_AMBIGUOUS: { status: 400, message: 'The request path is ambiguous and was refused' },
  GW_BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  GW_NOT_FOUND: { status: 404, message: 'No route matches this request' },
  GW_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  GW_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },

  // Authorization. Token errors (401) and missing roles or scopes (403) are the sdk verifier's codes
  // (SDK_TOKEN_MISSING, SDK_TOKEN_EXPIRED, SDK_INSUFFICIENT_ROLE, ...): one verifier, one set of answers.
  GW_PERMISSION_DENIED: { status: 403, message: 'Permission denied' },
  // RFC 9470: the token is valid but its sign-in is too weak or too old for the route (step-up.ts).
  GW_STEP_UP_REQUIRED: { status: 401, message: 'A stronger or more recent sign-in is required' },
  GW_DECISION_UNAVAILABLE: { status: 503, message: 'The permission service did not answer' },

  // Limits
  GW_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  GW_TOO_MANY_INFLIGHT: { status: 429, message: 'Too many requests in flight' },

  // Upstreams (raised by upstream-pool.ts)
  GW_BAD_GATEWAY: { status: 502, message: 'The upstream answered with an invalid response' },
  GW_UPSTREAM_UNAVAILABLE: { status: 502, message: 'The upstream could not be reached' },
  GW_NO_HEALTHY_UPSTREAM: { status: 503, message: 'No healthy upstream replica is available' },
  GW_CIRCUIT_OPEN: { status: 503, message: 'The upstream is failing; try again later' },
  GW_UPSTREAM_TIMEOUT: { status: 504, message: 'The upstream did not answer in time' },

  // CORS (cors.ts)
  GW_CORS_REFUSED: {
    status: 403,
    message: 'This cross-origin request is not allowed by the route',
  },

  // Forward-auth endpoint
  // 403, not 400: a proxy's auth subrequest reads any status but 2xx/401/403 as a server error.
  GW_FORWARD_AUTH_NO_URI: {
    status: 403,
    message: 'Forward-auth needs X-Forwarded-Uri or X-Original-URI',
  },
  GW_FORWARD_AUTH_UNTRUSTED: {
    status: 403,
    message: 'Forward-auth requests are only accepted from trusted proxies',
  },

  // Browser sessions (BFF): the gateway as the confidential OAuth client
  GW_BFF_RETURN_TO_INVALID: {
    status: 400,
    message: 'return_to must be a relative path on this site',
  },
  GW_BFF_CLIENT_UNKNOWN: {
    status: 400,
    message: 'client must name one of the clients this gateway signs people in as',
  },
  GW_BFF_STATE_INVALID: {
    status: 400,
    message: 'The login callback does not belong to a login started in this browser',
  },
  GW_BFF_LOGIN_FAILED: { status: 400, message: 'The identity provider did not complete the login' },
  GW_BFF_SESSION_EXPIRED: { status: 401, message: 'The browser session has ended; log in again' },
  GW_BFF_CROSS_SITE: { status: 403, message: 'This request must come from this site' },
  GW_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  GW_BFF_IDP_UNAVAILABLE: { status: 502, message: 'The identity provider could not be reached' },

  // Process
  GW_INTERNAL: { status: 500, message: 'Internal error' },
  // Start-up and reload: the configuration (routes, limits, TLS, BFF, assertion key) is refused.
  GW_CONFIG_INVALID: { status: 500, message: 'The gateway configuration is invalid' },
});

export type GatewayErrorCode = keyof typeof gatewayErrors.catalog;
