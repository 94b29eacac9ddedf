import {
  createServer as createHttpServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  createMetricsRegistry,
  FORWARDED_CLIENT_CERT_HEADER,
  GatehouseError,
  handleHealth,
  type Logger,
  noTracing,
  type Registry,
  type Sql,
  sendError,
  serveMetrics,
  type TraceSpan,
  type Tracing,
  unmapIPv4,
  withoutCookies,
} from '@gatehouse/core';
import { createVerifier, peerCertificateThumbprint, sdkError, type Verifier } from '@gatehouse/sdk';
import type { JWTVerifyGetKey } from 'jose';
import { type AccessHooks, checkAccess } from './auth/access-check.ts';
import { type AssertionKey, assertionAudience, loadAssertionKey } from './auth/assertion-key.ts';
import { withoutSessionCookie } from './auth/authenticate.ts';
import { browserLoginLocation } from './auth/browser-login.ts';
import type { DecisionClient } from './auth/decision-client.ts';
import { handleForwardAuth } from './auth/forward-auth.ts';
import {
  requestIdFor,
  setForwardingHeaders,
  setIdentityHeaders,
  traceparentFor,
} from './auth/identity-headers.ts';
import { createPermissionPolicy, type PermissionPolicy } from './auth/permission-policy.ts';
import {
  followRevocationFeed,
  revokedInState,
  revokedInStateOrFeed,
  subscribeRevocations,
} from './auth/revocations.ts';
import { type Bff, createBff } from './bff/bff.ts';
import { type GatewayConfig, validateGatewayConfig } from './config-schema.ts';
import type { Principal, SharedState } from './contracts.ts';
import { gatewayErrors } from './errors.ts';
import { createInflightLimiter } from './limits/inflight-limit.ts';
import { limitKeyFor } from './limits/limit-key.ts';
import { createRateLimiter } from './limits/rate-limit.ts';
import { type AccessLogEntry, createAccessLogger, writeAccessLog } from './ops/access-log.ts';
import {
  allowReason,
  auditSampled,
  createDecisionAuditLogger,
  writeDecisionAudit,
} from './ops/decision-audit.ts';
import { createGatewayMetrics } from './ops/gateway-metrics.ts';
import { hstsHeaderValue, httpsServerOptions, setHsts } from './ops/tls.ts';
import { corsAnswerHeaders } from './routing/cors.ts';
import { normalizeRequestTarget } from './routing/path-normalize.ts';
import { buildRouteTable, closeRetired, type Factories, type RouteTable } from './routing/route-table.ts';
import { sanitizeHeaders } from './upstreams/header-sanitize.ts';
import { createUpstreamPool } from './upstreams/upstream-pool.ts';

export interface GatewayOptions {
  /** The `gateway` configuration section; validated (and defaults filled) here. */
  config: unknown;
  state: SharedState;
  logger: Logger;
  /** Origin clients use; default issuer is `<publicUrl>/auth`, default audience `[publicUrl]`. */
  publicUrl?: string;
  /** A ready verifier; it should be built with `isRevoked: revokedInState(state)`. */
  verifier?: Verifier;
  /** Keys for the verifier the gateway builds itself, instead of fetching the JWKS (tests). */
  getKey?: JWTVerifyGetKey;
  /** Replaces the HTTP decision client (tests, or an in-process permission engine). */
  fetchDecision?: DecisionClient['check'];
  /**
   * The shared storage (authz migrations applied): with `gateway.authz` and no `gateway.authz.url`,
   * permission policies run the engine in this process on it.
   */
  sql?: Sql;
  metrics?: Registry;
  /** Replace how pools and limiters are made (tests). */
  factories?: Partial<Factories>;
  /**
   * Distributed tracing (core's createTracing): each request is a server span carrying the route,
   * the decision and its reason, and the client id; its traceparent goes upstream. Default off.
   */
  tracing?: Tracing;
}

export interface Gateway {
  readonly server: Server;
  readonly metrics: Registry;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Validate and swap in a new `gateway` section. Throws (and logs) when invalid; the old routes stay. */
  reload(newConfig: unknown): Promise<void>;
  /**
   * Start draining: readiness answers 503 and every answer carries `Connection: close`, while the
   * listener still serves what reaches it (`close` follows).
   */
  drain(): void;
  close(): Promise<void>;
}

const RESERVED_PREFIX = '/_gatehouse/';

/**
 * The gateway: one `node:http` (or `https`) server whose handler is the request pipeline.
 *
 * | order | step                                                        | file               |
 * | ----- | ----------------------------------------------------------- | ------------------ |
 * | 1     | strip spoofable headers (identity, hop-by-hop, forwarding)  | header-sanitize.ts |
 * | 2     | normalize the path once                                     | path-normalize.ts  |
 * | 3     | `/_gatehouse/*`: health, metrics, forward-auth              | gateway.ts         |
 * | 4     | route, CORS preflight, authenticate, authorize, rate limit  | access-check.ts    |
 * | 5     | in-flight limit                                             | gateway.ts         |
 * | 6     | set identity, tracing and forwarding headers                | identity-headers.ts|
 * | 7     | proxy to a replica                                          | upstream-pool.ts   |
 *
 * Admin paths live under `/_gatehouse/` (never routed upstream): `/_gatehouse/health/live`,
 * `/_gatehouse/health/ready`, `/_gatehouse/metrics` (trusted proxies and loopback only: metrics
 * describe traffic and should not be public), and the forward-auth path.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { state } = options;
  const logger = options.logger.child({ component: 'gateway' });
  const accessLogger = createAccessLogger(logger);
  const auditLogger = createDecisionAuditLogger(logger);
  const tracing = options.tracing ?? noTracing;
  const registry = options.metrics ?? createMetricsRegistry('gateway');
  const metrics = createGatewayMetrics(registry);
  const factories: Factories = {
    createPool: options.factories?.createPool ?? createUpstreamPool,
    createRateLimiter: options.factories?.createRateLimiter ?? createRateLimiter,
    createInflightLimiter: options.factories?.createInflightLimiter ?? createInflightLimiter,
  };
  const publicUrl = (options.publicUrl ?? 'http://localhost:8080').replace(/\/$/, '');

  const config = validateGatewayConfig(options.config);
  // The assertion key is read once: services pin its kid, so it never changes under a reload.
  const assertionKey: AssertionKey | undefined = config.assertion.enabled
    ? await loadAssertionKey(config.assertion)
    : undefined;
  // Browser sessions: built once too; their paths and secret are part of what browsers hold.
  const bff: Bff | undefined = config.bff.enabled
    ? createBff(config.bff, { state, logger, publicUrl, issuer: config.auth.issuer ?? `${publicUrl}/auth` })
    : undefined;
  // Built once: its decision cache and change-feed watcher outlive reloads.
  const permissions: PermissionPolicy | undefined = config.authz
    ? createPermissionPolicy(config.authz, {
        logger,
        sql: options.sql,
        issuer: config.auth.issuer ?? `${publicUrl}/auth`,
      })
    : undefined;
  const withDecisions = (t: RouteTable): RouteTable =>
    options.fetchDecision ? { ...t, decisions: { check: options.fetchDecision } } : t;
  let table: RouteTable;
  try {
    table = withDecisions(
      buildRouteTable(config, undefined, { state, logger, metrics: registry, factories, permissions }),
    );
  } catch (err) {
    await permissions?.close();
    throw err;
  }

  // The durable revocation feed (when configured): no token is accepted before the first catch-up,
  // since the cache only fills through `isRevoked`; the subscription's reconnects and a timer catch up again.
  const feedConfig = config.auth.revocationFeed;
  const feed = feedConfig ? followRevocationFeed(feedConfig, () => verifier, logger) : undefined;
  if (!feedConfig && state.driver === 'redis') {
    logger.warn(
      'gateway.auth.revocationFeed is not set: a revocation whose pub/sub message is lost is not enforced here',
    );
  }
  const inState =
    feed && feedConfig
      ? revokedInStateOrFeed(revokedInState(state), feed, 3 * feedConfig.pollIntervalMs, logger)
      : revokedInState(state);
  const isRevoked = async (p: Principal): Promise<boolean> => {
    if (feed && !feed.synced) throw sdkError('SDK_REVOCATION_UNAVAILABLE', 'Revocations not caught up yet');
    return inState(p);
  };

  const buildVerifier = (auth: GatewayConfig['auth']): Verifier => {
    const issuer = auth.issuer ?? `${publicUrl}/auth`;
    return createVerifier({
      issuer,
      audiences: auth.audiences ?? [publicUrl],
      algorithms: auth.algorithms,
      isRevoked,
      logger,
      ...(auth.jwksUri ? { jwksUri: auth.jwksUri } : {}),
      ...(options.getKey ? { getKey: options.getKey } : {}),
    });
  };
  let verifier = options.verifier ?? buildVerifier(config.auth);
  const catchUp = (why: string) => {
    feed?.sync().then(
      (n) => logger.debug({ revocations: n, why }, 'revocations caught up'),
      (err: Error) => logger.warn({ err: err.message, why }, 'revocation catch-up failed; the poll retries'),
    );
  };
  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await subscribeRevocations(
      state,
      () => verifier,
      logger,
      () => catchUp('subscription restored'),
    );
  } catch (err) {
    await Promise.all([...table.pools.values()].map((p) => p.close()));
    await permissions?.close();
    throw err;
  }
  if (feed) {
    // After subscribing, so nothing falls between the catch-up and the first message.
    try {
      await feed.sync();
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        'revocation feed unreachable at start-up; tokens wait for it',
      );
    }
    feed.start();
  }

  // Retired tables that still have requests running: their pools stay open until they drain.
  const drainingTables = new Set<RouteTable>();
  const retire = async (old: RouteTable): Promise<void> => {
    drainingTables.delete(old);
    await closeRetired(old, [table, ...drainingTables]);
  };

  let draining = false;
  const readiness: Record<string, () => Promise<void>> = { state: () => state.ping() };
  if (feed) {
    readiness['revocations'] = async () => {
      if (!feed.synced) throw new Error('revocations not caught up yet');
    };
  }
  const hsts = config.tls?.hsts ? hstsHeaderValue(config.tls.hsts) : undefined;
  const handler = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server = config.tls
    ? createHttpsServer(listenerOptions(config.tls), handler)
    : createHttpServer(handler);

  // Requests Node's parser refuses (headers over 16 KiB, malformed syntax, too slow) never reach
  // `handle`: answer them with a JSON error too. The socket is half-closed and drained rather than
  // destroyed, so the client reads the answer instead of a connection reset.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const code =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 'GW_HEADERS_TOO_LARGE'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 'GW_REQUEST_TIMEOUT'
          : 'GW_BAD_REQUEST';
    const { status, message } = gatewayErrors.catalog[code];
    const body = JSON.stringify({ error: code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
    socket.resume();
    setTimeout(() => socket.destroy(), 5000).unref();
    logger.debug({ code, parserError: err.code }, 'request refused by the HTTP parser');
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The same monotonic clock as hrtime, as a double: no BigInt allocated twice per request.
    const started = performance.now();
    const t = table;
    t.active++;
    // Draining: the connection ends after this answer, so no next request is cut on it.
    if (draining) res.setHeader('connection', 'close');
    const method = req.method ?? 'GET';
    const peer = unmapIPv4(req.socket.remoteAddress ?? '');
    const peerTrusted = t.proxies.isTrusted(peer);
    const clean = sanitizeHeaders(req.rawHeaders, peerTrusted);
    const requestId = requestIdFor(clean.forwarded.requestId);
    const clientAddress = t.proxies.clientAddress(peer, clean.forwarded.for);
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    // RFC 8705 §3: only a certificate that chains to the configured client CA can prove possession.
    const clientCertificateThumbprint =
      encrypted && (req.socket as TLSSocket).authorized ? peerCertificateThumbprint(req.socket) : undefined;
    let path = '-';
    let routeId = '-';
    let principal: Principal | undefined;
    let errorCode: string | undefined;
    let bffToken: string | undefined;
    // The public client of the route's browser session (gateway.bff.clients), if it names one.
    let bffClient: string | undefined;
    // The access decision and why (decision-audit.ts): set once the access check has answered.
    let decision: 'allow' | 'deny' | undefined;
    let reason: string | undefined;
    // Only a trusted peer's traceparent survives sanitizeHeaders: others start a new trace.
    const span: TraceSpan | undefined = tracing.enabled
      ? tracing.startSpan('gateway', clean.forwarded.traceparent, { 'http.request.method': method })
      : undefined;
    // CORS headers for this answer, once the route is known (cors.ts): errors carry them too.
    let corsHeaders: Record<string, string> | undefined;
    const hooks: AccessHooks = {
      onPath: (p) => {
        path = p;
      },
      onRoute: (id, route) => {
        routeId = id;
        if (route.cors !== undefined) corsHeaders = corsAnswerHeaders(route.cors, req.headers.origin);
      },
      onPrincipal: (p) => {
        principal = p;
      },
    };

    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      t.active--;
      if (t.retired && t.active === 0) void retire(t);
      const durationMs = performance.now() - started;
      metrics.observeRequest(routeId, method, res.statusCode, durationMs / 1000);
      if (decision !== undefined && auditSampled(t.config.audit, decision)) {
        writeDecisionAudit(auditLogger, {
          decision,
          reason: reason ?? '-',
          route: routeId,
          method,
          path,
          status: res.statusCode,
          requestId,
          client: clientAddress,
          ...(principal ? { subject: principal.subject, clientId: principal.clientId } : {}),
        });
      }
      if (span) {
        span.set({
          'http.route': routeId,
          'url.path': path,
          'gatehouse.request_id': requestId,
          ...(decision ? { 'gatehouse.decision': decision, 'gatehouse.decision.reason': reason ?? '-' } : {}),
          ...(principal
            ? { 'gatehouse.client_id': principal.clientId, 'gatehouse.subject_kind': principal.kind }
            : {}),
          ...(errorCode ? { 'gatehouse.error': errorCode } : {}),
        });
        span.end(res.statusCode);
      }
      // Asked per request (the level may change at run time); no entry is built for a line pino drops.
      if (!accessLogger.isLevelEnabled('info')) return;
      const entry: AccessLogEntry = {
        requestId,
        method,
        path,
        route: routeId,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 1000) / 1000,
        client: clientAddress,
      };
      if (principal) entry.user = principal.subject;
      if (errorCode) entry.error = errorCode;
      writeAccessLog(accessLogger, entry);
    };
    // `on`, not `once`: `finished` already makes the second call a no-op, without once's wrappers.
    res.on('finish', finish);
    res.on('close', finish);
    // X-Request-Id goes on every answer. Set on `res` only for answers the gateway writes itself
    // (errors, admin paths); a proxied answer gets it through the pool with the upstream's headers,
    // so that `writeHead` finds no headers set beforehand and takes node:http's fast path.
    const responseHeaders: Record<string, string> = { 'x-request-id': requestId };
    if (hsts && encrypted) setHsts(res, hsts);

    try {
      if (clean.repeatedSingleton) {
        throw gatewayErrors.create('GW_BAD_REQUEST', `The ${clean.repeatedSingleton} header is repeated`);
      }
      const norm = normalizeRequestTarget(req.url);
      if (norm.ok && (norm.path.startsWith(RESERVED_PREFIX) || norm.path === '/_gatehouse')) {
        res.setHeader('x-request-id', requestId);
        path = norm.path;
        routeId = '_gatehouse';
        await handleReserved(
          req,
          res,
          norm.path,
          { t, peer, peerTrusted, clientAddress, requestId, hooks },
          (p) => {
            principal = p;
          },
        );
        return;
      }

      const granted = await checkAccess(
        {
          method,
          host: req.headers.host,
          target: req.url,
          normalized: norm,
          headers: req.headers,
          clientAddress,
          clientCertificateThumbprint,
          browserSession: bff
            ? async (cookie, route) => {
                bffClient = route.bffClient;
                bffToken = await bff.accessToken(cookie, route.bffClient);
                return bffToken;
              }
            : undefined,
        },
        t,
        verifier,
        hooks,
      );
      if (granted.preflight) {
        res.writeHead(204, { ...granted.preflight, ...responseHeaders, 'content-length': '0' });
        res.end();
        return;
      }
      if (corsHeaders) Object.assign(responseHeaders, corsHeaders);
      principal = granted.principal;
      const route = granted.match.route;
      decision = 'allow';
      reason = allowReason(route);
      if (granted.rateHeaders) for (const [k, v] of Object.entries(granted.rateHeaders)) res.setHeader(k, v);

      const inflight = t.limits.get(route.id)?.inflight;
      if (inflight && route.inflight) {
        const key = limitKeyFor(route.inflight.key, { clientAddress, principal, headers: req.headers });
        if (!(await inflight.acquire(key))) {
          // A slot frees as soon as any request of this key ends.
          throw gatewayErrors.create('GW_TOO_MANY_INFLIGHT', undefined, { headers: { 'retry-after': '1' } });
        }
        res.once('close', () => {
          inflight
            .release(key)
            .catch((err: unknown) => logger.warn({ err }, 'in-flight slot release failed'));
        });
      }

      // Added to the sanitized headers in place rather than spread into a new object (one object per
      // request fewer). None of these names is among them: sanitizeHeaders strips every inbound
      // variant, so each assignment adds a header, in the order a spread would have.
      const headers: OutgoingHttpHeaders = clean.headers;
      headers.host = req.headers.host;
      setForwardingHeaders(headers, {
        peerAddress: peer,
        inbound: clean.forwarded,
        encrypted,
        host: req.headers.host,
      });
      headers['x-request-id'] = requestId;
      headers.traceparent = span ? span.traceparent : traceparentFor(clean.forwarded.traceparent);
      if (principal) setIdentityHeaders(headers, principal);
      // The credentials were set aside by sanitizeHeaders: added back only as the route allows.
      let authorization = clean.credentials.authorization;
      let cookie: string | string[] | undefined = clean.credentials.cookie;
      if (!route.forwardToken) {
        authorization = undefined;
        cookie = withoutSessionCookie(cookie);
      } else if (bffToken !== undefined && authorization === undefined) {
        // The browser's session stands for a bearer token: forwarding the token means this one.
        authorization = `Bearer ${bffToken}`;
      }
      if (bff && cookie !== undefined) {
        // The BFF cookies name a session only the gateway can use: never worth sending upstream.
        cookie = withoutCookies(cookie, bff.cookieNames);
      }
      // A repeated Authorization header was refused above (repeatedSingleton): this is one string.
      if (authorization !== undefined) headers.authorization = authorization as string;
      // With the credentials, the client certificate that proves them (RFC 8705): the identity
      // provider binds tokens to it. Only a certificate that chained to the client CA.
      if (route.forwardToken && clientCertificateThumbprint !== undefined) {
        const cert = (req.socket as TLSSocket).getPeerX509Certificate();
        if (cert) headers[FORWARDED_CLIENT_CERT_HEADER] = encodeURIComponent(cert.toString());
      }
      if (cookie !== undefined) headers.cookie = cookie;
      const audience = assertionAudience(route);
      if (audience !== undefined && assertionKey && principal) {
        const q = granted.upstreamTarget.indexOf('?');
        headers['x-gatehouse-assertion'] = await assertionKey.sign({
          principal,
          audience,
          method,
          path: q === -1 ? granted.upstreamTarget : granted.upstreamTarget.slice(0, q),
        });
      }
      const pool = t.pools.get(route.id);
      if (!pool) throw gatewayErrors.create('GW_NO_HEALTHY_UPSTREAM');
      await pool.forward(req, res, { path: granted.upstreamTarget, headers, responseHeaders });
    } catch (caught) {
      let err: unknown = caught;
      if (!res.headersSent && !res.hasHeader('x-request-id')) res.setHeader('x-request-id', requestId);
      if (corsHeaders && !res.headersSent)
        for (const [k, v] of Object.entries(corsHeaders)) res.setHeader(k, v);
      errorCode = err instanceof GatehouseError ? err.code : 'GW_INTERNAL';
      // Refused by the access check, or by the in-flight limit after it; a failure further on
      // (upstream) leaves the allow standing.
      if (decision === undefined || errorCode === 'GW_TOO_MANY_INFLIGHT') {
        decision = 'deny';
        reason = errorCode;
      }
      // A browser on its BFF session that falls short of a route's step-up signs in again at that
      // level and comes back (step-up.ts); API callers get the RFC 9470 challenge.
      if (
        bff &&
        bffToken !== undefined &&
        (method === 'GET' || method === 'HEAD') &&
        gatewayErrors.is(err, 'GW_STEP_UP_REQUIRED') &&
        !res.headersSent
      ) {
        const ask = err.details as { acrValues?: string; maxAge?: number };
        try {
          await bff.stepUp(res, path === '-' ? '/' : `${path}${queryOf(req.url)}`, ask, bffClient);
          return;
        } catch (stepUpErr) {
          err = stepUpErr;
          errorCode = stepUpErr instanceof GatehouseError ? stepUpErr.code : 'GW_INTERNAL';
        }
      }
      if (err instanceof GatehouseError) {
        if (err.status === 401 || err.status === 403) metrics.authFailure(err.code);
        if (err.code === 'GW_RATE_LIMITED') metrics.limitRejected(routeId, 'rate');
        if (err.code === 'GW_TOO_MANY_INFLIGHT') metrics.limitRejected(routeId, 'inflight');
        if (err.status >= 500) logger.warn({ code: err.code, route: routeId, requestId }, err.message);
        // A person on a page gets the sign-in page instead of a 401 (looked up only on this path).
        const login =
          bff && !res.headersSent
            ? browserLoginLocation(
                req,
                t.config.routes.find((r) => r.id === routeId),
                err,
                bff.loginPath,
              )
            : undefined;
        if (login !== undefined) {
          res.writeHead(302, { location: login, 'cache-control': 'no-store' });
          res.end();
          return;
        }
        sendError(res, err);
      } else {
        logger.error({ err, route: routeId, requestId }, 'request failed');
        sendError(res, gatewayErrors.create('GW_INTERNAL', undefined, { cause: err }));
      }
    }
  }

  async function handleReserved(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    ctx: {
      t: RouteTable;
      peer: string;
      peerTrusted: boolean;
      clientAddress: string;
      requestId: string;
      hooks: AccessHooks;
    },
    onPrincipal: (p: Principal | undefined) => void,
  ): Promise<void> {
    const sub = path.slice('/_gatehouse'.length);
    if (sub === '/health/live' || sub === '/health/ready') {
      handleHealth(req, res, sub, { checks: readiness, draining: () => draining });
      return;
    }
    if (sub === '/metrics' && (ctx.peerTrusted || isLoopback(ctx.peer))) {
      await serveMetrics(registry, req, res);
      return;
    }
    if (bff?.owns(path)) {
      await bff.handle(req, res, path);
      return;
    }
    if (sub === '/jwks' && assertionKey) {
      serveJwks(res, assertionKey);
      return;
    }
    const fa = ctx.t.config.forwardAuth;
    if (fa.enabled && (path === fa.path || path.startsWith(`${fa.path}/`))) {
      // Envoy appends the original path to the prefix; read it from the raw target so it is
      // normalized exactly once, as the original, and refuse a prefix written any other way.
      const raw = req.url ?? '';
      const prefixedTarget =
        path === fa.path ? undefined : raw.startsWith(`${fa.path}/`) ? raw.slice(fa.path.length) : '';
      const p = await handleForwardAuth(req, res, {
        table: ctx.t,
        verifier,
        peerTrusted: ctx.peerTrusted,
        clientAddress: ctx.clientAddress,
        requestId: ctx.requestId,
        hooks: {},
        prefixedTarget,
      });
      onPrincipal(p);
      return;
    }
    throw gatewayErrors.create('GW_NOT_FOUND');
  }

  return {
    server,
    metrics: registry,
    listen(port, host = '127.0.0.1') {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async reload(newConfig) {
      let next: RouteTable;
      try {
        const valid = validateGatewayConfig(newConfig);
        if (JSON.stringify(valid.assertion) !== JSON.stringify(config.assertion)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.assertion cannot change on reload: restart the gateway',
          );
        }
        if (JSON.stringify(valid.bff) !== JSON.stringify(config.bff)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.bff cannot change on reload: restart the gateway',
          );
        }
        if (JSON.stringify(valid.authz) !== JSON.stringify(config.authz)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.authz cannot change on reload: restart the gateway',
          );
        }
        next = withDecisions(
          buildRouteTable(valid, table, { state, logger, metrics: registry, factories, permissions }),
        );
        if (!options.verifier && JSON.stringify(valid.auth) !== JSON.stringify(table.config.auth)) {
          if (JSON.stringify(valid.auth.revocationFeed) !== JSON.stringify(config.auth.revocationFeed)) {
            throw gatewayErrors.create(
              'GW_CONFIG_INVALID',
              'gateway.auth.revocationFeed cannot change on reload: restart the gateway',
            );
          }
          const nextVerifier = buildVerifier(valid.auth);
          // A new verifier starts with no revocations: it gets every live one before it serves
          // (one that lands meanwhile reaches it with the next poll, which repeats recent ones).
          if (feedConfig) await followRevocationFeed(feedConfig, () => nextVerifier, logger).sync();
          verifier = nextVerifier;
        }
      } catch (err) {
        logger.error(
          { err: (err as Error).message, problems: (err as { problems?: string[] }).problems },
          'configuration reload refused; the previous routes stay',
        );
        throw err;
      }
      const old = table;
      table = next;
      old.retired = true;
      if (old.active === 0) await retire(old);
      else drainingTables.add(old);
      logger.info({ routes: next.config.routes.length }, 'configuration reloaded');
    },
    drain() {
      draining = true;
    },
    async close() {
      draining = true;
      feed?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await unsubscribe();
      await Promise.all([...table.pools.values()].map((p) => p.close()));
      await permissions?.close();
    },
  };
}

/** The HTTPS listener's options; an optional client certificate is asked for but not required. */
function listenerOptions(tls: NonNullable<GatewayConfig['tls']>) {
  const options = httpsServerOptions({
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    minVersion: tls.minVersion,
    ...(tls.clientCaFile ? { clientCaFile: tls.clientCaFile } : {}),
  });
  // Still verified against clientCaFile: `socket.authorized` says whether it chained.
  if (tls.clientCaFile && tls.clientCertificate === 'optional') options.rejectUnauthorized = false;
  return options;
}

/** The assertion key's public half, for services that verify `X-Gatehouse-Assertion`. */
function serveJwks(res: ServerResponse, key: AssertionKey): void {
  const body = JSON.stringify(key.jwks);
  res.writeHead(200, {
    'content-type': 'application/jwk-set+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'public, max-age=300',
  });
  res.end(body);
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** The query of a request target, with its `?`, or ''. */
function queryOf(target: string | undefined): string {
  const q = target?.indexOf('?') ?? -1;
  return q === -1 ? '' : target!.slice(q);
}
