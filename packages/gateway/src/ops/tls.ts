import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { SecureVersion } from 'node:tls';
import { gatewayErrors } from '../errors.ts';

/**
 * TLS on both sides of the gateway:
 * - the HTTPS listener (certificate and key files, TLS 1.2 at least, optional HSTS header);
 * - optional mutual TLS to upstreams (a client certificate per route, and the CA that signed the
 *   upstreams' certificates), handed to undici's connector.
 * Files are read once, at start-up or route reload; a missing or unreadable file is an error then,
 * never a silent plaintext fallback.
 */

export interface ListenerTlsConfig {
  certFile: string;
  keyFile: string;
  /** Client CAs: when set, the listener asks for and verifies client certificates. */
  clientCaFile?: string;
  minVersion?: SecureVersion;
}

/** Options for `https.createServer(options, handler)`. */
export function httpsServerOptions(config: ListenerTlsConfig): HttpsServerOptions {
  const options: HttpsServerOptions = {
    cert: readFileSync(config.certFile),
    key: readFileSync(config.keyFile),
    minVersion: config.minVersion ?? 'TLSv1.2',
  };
  if (config.clientCaFile) {
    options.ca = readFileSync(config.clientCaFile);
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

export interface HstsConfig {
  maxAgeSec: number;
  includeSubDomains?: boolean;
  preload?: boolean;
}

/** The `Strict-Transport-Security` value (RFC 6797). Preload requires a year and subdomains, per hstspreload.org. */
export function hstsHeaderValue(config: HstsConfig): string {
  if (!Number.isInteger(config.maxAgeSec) || config.maxAgeSec < 0) {
    throw gatewayErrors.create('GW_CONFIG_INVALID', 'hsts.maxAgeSec must be a non-negative integer');
  }
  if (config.preload && (!config.includeSubDomains || config.maxAgeSec < 31536000)) {
    throw gatewayErrors.create(
      'GW_CONFIG_INVALID',
      'hsts.preload needs includeSubDomains and maxAgeSec of at least 31536000',
    );
  }
  let value = `max-age=${config.maxAgeSec}`;
  if (config.includeSubDomains) value += '; includeSubDomains';
  if (config.preload) value += '; preload';
  return value;
}

/** Set HSTS on a response served over TLS (browsers ignore it over plain HTTP, RFC 6797 §8.1). */
export function setHsts(res: ServerResponse, value: string): void {
  if (!res.headersSent) res.setHeader('strict-transport-security', value);
}

export interface UpstreamTlsConfig {
  /** CA bundle that signed the upstreams' server certificates (instead of the system store). */
  caFile?: string;
  /** Client certificate and key presented to upstreams (mTLS). Both or neither. */
  certFile?: string;
  keyFile?: string;
  /** Name checked against the upstream certificate when it differs from the URL host. */
  servername?: string;
}

/** What undici's connector takes (`new Pool(origin, { connect })`). */
export interface UpstreamTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: true;
  minVersion: SecureVersion;
}

export function upstreamTlsOptions(config: UpstreamTlsConfig): UpstreamTlsOptions {
  if (Boolean(config.certFile) !== Boolean(config.keyFile)) {
    throw gatewayErrors.create('GW_CONFIG_INVALID', 'upstream tls: certFile and keyFile go together');
  }
  const options: UpstreamTlsOptions = { rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  if (config.caFile) options.ca = readFileSync(config.caFile);
  if (config.certFile && config.keyFile) {
    options.cert = readFileSync(config.certFile);
    options.key = readFileSync(config.keyFile);
  }
  if (config.servername) options.servername = config.servername;
  return options;
}
