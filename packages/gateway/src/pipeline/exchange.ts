import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type TraceSpan, unmapIPv4 } from '@gatehouse/core';
import { peerCertificateThumbprint } from '@gatehouse/sdk';
import type { AccessHooks } from '../auth/access-check.ts';
import { requestIdFor } from '../auth/identity-headers.ts';
import type { Principal, RouteConfig } from '../contracts.ts';
import { type AccessLogEntry, writeAccessLog } from '../ops/access-log.ts';
import { auditSampled, writeDecisionAudit } from '../ops/decision-audit.ts';
import { corsAnswerHeaders } from '../routing/cors.ts';
import type { RouteTable } from '../routing/route-table.ts';
import { type SanitizedHeaders, sanitizeHeaders } from '../upstreams/header-sanitize.ts';
import type { GatewayContext } from './gateway-context.ts';

/**
 * One request on its way through the pipeline: what is known about it so far, filled in step by
 * step, and what is recorded when its answer ends (metrics, decision audit, span, access log).
 *
 * A class rather than variables captured by closures: its methods are the access check's hooks
 * (`AccessHooks`), so a request allocates this one object instead of a hooks object and a closure
 * per hook.
 */
export class Exchange implements AccessHooks {
  // The same monotonic clock as hrtime, as a double: no BigInt allocated twice per request.
  readonly started = performance.now();
  readonly method: string;
  readonly peer: string;
  readonly peerTrusted: boolean;
  readonly clean: SanitizedHeaders;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly encrypted: boolean;
  /** RFC 8705 §3: only a certificate that chains to the configured client CA can prove possession. */
  readonly clientCertificateThumbprint: string | undefined;
  readonly span: TraceSpan | undefined;
  path = '-';
  routeId = '-';
  principal: Principal | undefined = undefined;
  errorCode: string | undefined = undefined;
  /** The access token of the browser's BFF session, when that is how the caller authenticated. */
  bffToken: string | undefined = undefined;
  /** The public client of the route's browser session (gateway.bff.clients), if it names one. */
  bffClient: string | undefined = undefined;
  /** The access decision and why (decision-audit.ts): set once the access check has answered. */
  decision: 'allow' | 'deny' | undefined = undefined;
  reason: string | undefined = undefined;
  /** CORS headers for this answer, once the route is known (cors.ts): errors carry them too. */
  corsHeaders: Record<string, string> | undefined = undefined;
  private finished = false;
  private readonly gw: GatewayContext;
  /** The route table the request started with: a reload does not move it to the next one. */
  readonly t: RouteTable;
  readonly req: IncomingMessage;
  private readonly res: ServerResponse;

  constructor(gw: GatewayContext, t: RouteTable, req: IncomingMessage, res: ServerResponse) {
    this.gw = gw;
    this.t = t;
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    this.peer = unmapIPv4(req.socket.remoteAddress ?? '');
    this.peerTrusted = t.proxies.isTrusted(this.peer);
    this.clean = sanitizeHeaders(req.rawHeaders, this.peerTrusted);
    this.requestId = requestIdFor(this.clean.forwarded.requestId);
    this.clientAddress = t.proxies.clientAddress(this.peer, this.clean.forwarded.for);
    this.encrypted = (req.socket as TLSSocket).encrypted === true;
    this.clientCertificateThumbprint =
      this.encrypted && (req.socket as TLSSocket).authorized
        ? peerCertificateThumbprint(req.socket)
        : undefined;
    // Only a trusted peer's traceparent survives sanitizeHeaders: others start a new trace.
    this.span = gw.tracing.enabled
      ? gw.tracing.startSpan('gateway', this.clean.forwarded.traceparent, {
          'http.request.method': this.method,
        })
      : undefined;
  }

  onPath(path: string): void {
    this.path = path;
  }

  onRoute(id: string, route: RouteConfig): void {
    this.routeId = id;
    if (route.cors !== undefined) this.corsHeaders = corsAnswerHeaders(route.cors, this.req.headers.origin);
  }

  onPrincipal(principal: Principal | undefined): void {
    this.principal = principal;
  }

  /** Records the request once its answer has ended (`finish`) or its connection closed; once. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const { gw, t, res, principal, decision } = this;
    t.active--;
    if (t.retired && t.active === 0) void gw.retire(t);
    const durationMs = performance.now() - this.started;
    gw.metrics.observeRequest(this.routeId, this.method, res.statusCode, durationMs / 1000);
    if (decision !== undefined && auditSampled(t.config.audit, decision)) {
      writeDecisionAudit(gw.auditLogger, {
        decision,
        reason: this.reason ?? '-',
        route: this.routeId,
        method: this.method,
        path: this.path,
        status: res.statusCode,
        requestId: this.requestId,
        client: this.clientAddress,
        ...(principal ? { subject: principal.subject, clientId: principal.clientId } : {}),
      });
    }
    if (this.span) {
      this.span.set({
        'http.route': this.routeId,
        'url.path': this.path,
        'gatehouse.request_id': this.requestId,
        ...(decision
          ? { 'gatehouse.decision': decision, 'gatehouse.decision.reason': this.reason ?? '-' }
          : {}),
        ...(principal
          ? { 'gatehouse.client_id': principal.clientId, 'gatehouse.subject_kind': principal.kind }
          : {}),
        ...(this.errorCode ? { 'gatehouse.error': this.errorCode } : {}),
      });
      this.span.end(res.statusCode);
    }
    // Asked per request (the level may change at run time); no entry is built for a line pino drops.
    if (!gw.accessLogger.isLevelEnabled('info')) return;
    const entry: AccessLogEntry = {
      requestId: this.requestId,
      method: this.method,
      path: this.path,
      route: this.routeId,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 1000) / 1000,
      client: this.clientAddress,
    };
    if (principal) entry.user = principal.subject;
    if (this.errorCode) entry.error = this.errorCode;
    writeAccessLog(gw.accessLogger, entry);
  }
}
