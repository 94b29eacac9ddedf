import type { Socket } from 'node:net';
import { parseBearer } from '../bearer.ts';
import { peerCertificateThumbprint } from '../certificate-binding.ts';
import { sdkError } from '../errors.ts';
import {
  ASSERTION_HEADER,
  type AssertionTrustOptions,
  createAssertionVerifier,
} from '../gateway-assertion.ts';
import { isTrustedPeer, type MtlsTrustOptions, principalFromHeaders } from '../mtls-trust.ts';
import type { Principal } from '../principal.ts';
import type { Verifier } from '../verifier.ts';

export interface GuardOptions {
  /** Verifies `Authorization: Bearer` access tokens. */
  verifier?: Verifier;
  /**
   * Trust the gateway's identity headers when the request proves it comes from the gateway: a signed
   * `X-Gatehouse-Assertion`, or a TLS client certificate of the gateway. Never on a bare header.
   */
  gateway?: { assertion?: AssertionTrustOptions; mtls?: MtlsTrustOptions };
  /** Where refusals are reported (pino-compatible); never given the token. */
  logger?: RefusalLogger;
  /**
   * A span for each guarded request, with the decision: `createTracing` of `@gatehouse/core` gives
   * one. The SDK loads no OpenTelemetry itself, so a service without tracing pays nothing.
   */
  tracing?: GuardTracing;
}

type SpanAttributes = Record<string, string | number | boolean>;

/** Starts spans: the shape of `@gatehouse/core`'s `Tracing`. */
export interface GuardTracing {
  readonly enabled: boolean;
  /** A server span, the child of `traceparent` when one is given and valid. */
  startSpan(name: string, traceparent: string | undefined, attributes?: SpanAttributes): GuardSpan;
}

export interface GuardSpan {
  /** W3C `traceparent` naming this span as the parent of what the request calls next. */
  readonly traceparent: string;
  set(attributes: SpanAttributes): void;
  end(status?: number): void;
}

export interface RefusalLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What a guard needs from a request, whatever the framework. */
export interface RequestView {
  method: string;
  /** Path without the query string, as received. */
  path: string;
  header(name: string): string | string[] | undefined;
  socket?: Socket;
}

export type Authenticator = (req: RequestView) => Promise<Principal>;

/**
 * Who is calling, in this order: a gateway assertion when one is present and trusted; the identity
 * headers on a gateway mTLS connection; a bearer token. Throws SdkError (401/503).
 */
export function createAuthenticator(options: GuardOptions): Authenticator {
  if (!options.verifier && !options.gateway?.assertion && !options.gateway?.mtls) {
    throw new TypeError('a guard needs a verifier, gateway assertion trust or gateway mTLS trust');
  }
  const assertion = options.gateway?.assertion
    ? createAssertionVerifier(options.gateway.assertion)
    : undefined;
  const mtls = options.gateway?.mtls;
  const verifier = options.verifier;

  const authenticate = async (req: RequestView): Promise<Principal> => {
    if (assertion && req.header(ASSERTION_HEADER) !== undefined) return assertion(req);
    if (mtls && isTrustedPeer(req.socket, mtls)) {
      const fromGateway = principalFromHeaders(req.header);
      if (fromGateway) return fromGateway;
    }
    if (!verifier) throw sdkError('SDK_TOKEN_MISSING');
    return verifier.verifyAccessToken(parseBearer(req.header('authorization')), {
      clientCertificateThumbprint: peerCertificateThumbprint(req.socket),
    });
  };
  const logger = options.logger;
  if (!logger) return authenticate;
  return async (req) => {
    try {
      return await authenticate(req);
    } catch (err) {
      logRefusal(logger, err, req);
      throw err;
    }
  };
}

export function logRefusal(logger: RefusalLogger | undefined, err: unknown, req: RequestView): void {
  const e = err as { code?: unknown; status?: unknown; cause?: unknown };
  const fields: Record<string, unknown> = {
    code: e.code,
    status: e.status,
    method: req.method,
    path: req.path,
  };
  // Not the caller's fault: the cause (a JOSE, key or JWKS fault) is what someone must look into.
  if (e.code === 'SDK_VERIFICATION_FAILED') fields['err'] = e.cause;
  logger?.warn(fields, 'request refused');
}

/**
 * The guard's span of a request, the child of the `traceparent` it came with (a service is reached
 * through the gateway, which forwards only one it trusts); undefined when tracing is off. Method and
 * path only: never a header's value, so never a credential.
 */
export function startGuardSpan(tracing: GuardTracing | undefined, req: RequestView): GuardSpan | undefined {
  if (!tracing?.enabled) return undefined;
  const inbound = req.header('traceparent');
  return tracing.startSpan(`${req.method} guarded`, typeof inbound === 'string' ? inbound : undefined, {
    'http.request.method': req.method,
    'url.path': req.path,
  });
}

/** The decision on the span: allow (with what it rested on and who), or deny with the refusal's code. */
export function recordDecision(
  span: GuardSpan | undefined,
  decision: { allow: Principal; reason: string } | { deny: unknown },
): void {
  if (!span) return;
  if ('allow' in decision) {
    span.set({
      'gatehouse.decision': 'allow',
      'gatehouse.decision.reason': decision.reason,
      'gatehouse.principal.kind': decision.allow.kind,
      ...(decision.allow.clientId ? { 'gatehouse.client_id': decision.allow.clientId } : {}),
    });
  } else {
    const code = (decision.deny as { code?: unknown }).code;
    span.set({
      'gatehouse.decision': 'deny',
      'gatehouse.decision.reason': typeof code === 'string' ? code : 'error',
    });
  }
}

/** What a requirement rested on, for a span's allow reason. */
export function requirementReason(r: { kind?: string } | { permission: unknown }): string {
  return 'permission' in r ? 'permission' : (r.kind ?? 'requirement');
}

/** Path part of a request target, as received. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
