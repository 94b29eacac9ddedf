import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { FORWARDED_CLIENT_CERT_HEADER, withoutCookies } from '@gatehouse/core';
import { assertionAudience } from '../auth/assertion-key.ts';
import { withoutSessionCookie } from '../auth/authenticate.ts';
import { setForwardingHeaders, setIdentityHeaders, traceparentFor } from '../auth/identity-headers.ts';
import type { RouteConfig } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import type { GatewayContext } from './gateway-context.ts';

/**
 * Sends an allowed request to a replica of its route: the sanitized headers plus the forwarding,
 * tracing and identity headers, the credentials the route lets through, and the gateway's signed
 * assertion when the route asks for one.
 */
export async function forwardUpstream(
  gw: GatewayContext,
  ex: Exchange,
  res: ServerResponse,
  route: RouteConfig,
  upstreamTarget: string,
  responseHeaders: Record<string, string>,
): Promise<void> {
  const { req, clean, principal } = ex;
  // Added to the sanitized headers in place rather than spread into a new object (one object per
  // request fewer). None of these names is among them: sanitizeHeaders strips every inbound
  // variant, so each assignment adds a header, in the order a spread would have.
  const headers: OutgoingHttpHeaders = clean.headers;
  headers.host = req.headers.host;
  setForwardingHeaders(headers, {
    peerAddress: ex.peer,
    inbound: clean.forwarded,
    encrypted: ex.encrypted,
    host: req.headers.host,
  });
  headers['x-request-id'] = ex.requestId;
  headers.traceparent = ex.span ? ex.span.traceparent : traceparentFor(clean.forwarded.traceparent);
  if (principal) setIdentityHeaders(headers, principal);
  // The credentials were set aside by sanitizeHeaders: added back only as the route allows.
  let authorization = clean.credentials.authorization;
  let cookie: string | string[] | undefined = clean.credentials.cookie;
  if (!route.forwardToken) {
    authorization = undefined;
    cookie = withoutSessionCookie(cookie);
  } else if (ex.bffToken !== undefined && authorization === undefined) {
    // The browser's session stands for a bearer token: forwarding the token means this one.
    authorization = `Bearer ${ex.bffToken}`;
  }
  if (gw.bff && cookie !== undefined) {
    // The BFF cookies name a session only the gateway can use: never worth sending upstream.
    cookie = withoutCookies(cookie, gw.bff.cookieNames);
  }
  // A repeated Authorization header was refused before (repeatedSingleton): this is one string.
  if (authorization !== undefined) headers.authorization = authorization as string;
  // With the credentials, the client certificate that proves them (RFC 8705): the identity
  // provider binds tokens to it. Only a certificate that chained to the client CA.
  if (route.forwardToken && ex.clientCertificateThumbprint !== undefined) {
    const cert = (req.socket as TLSSocket).getPeerX509Certificate();
    if (cert) headers[FORWARDED_CLIENT_CERT_HEADER] = encodeURIComponent(cert.toString());
  }
  if (cookie !== undefined) headers.cookie = cookie;
  const audience = assertionAudience(route);
  if (audience !== undefined && gw.assertionKey && principal) {
    const q = upstreamTarget.indexOf('?');
    headers['x-gatehouse-assertion'] = await gw.assertionKey.sign({
      principal,
      audience,
      method: ex.method,
      path: q === -1 ? upstreamTarget : upstreamTarget.slice(0, q),
    });
  }
  const pool = ex.t.pools.get(route.id);
  if (!pool) throw gatewayErrors.create('GW_NO_HEALTHY_UPSTREAM');
  await pool.forward(req, res, { path: upstreamTarget, headers, responseHeaders });
}
