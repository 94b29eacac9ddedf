// How the gateway listens and which peers it believes: `gateway.port`, `gateway.tls`,
// `gateway.trustedProxies` and `gateway.trustedProxyDepth`.

export const portSchema = {
  type: 'integer',
  minimum: 0,
  maximum: 65535,
  description: 'overrides server.port for the gateway',
} as const;

export const listenerTlsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['certFile', 'keyFile'],
  description: 'serve HTTPS instead of HTTP',
  properties: {
    certFile: { type: 'string', minLength: 1 },
    keyFile: { type: 'string', minLength: 1 },
    clientCaFile: { type: 'string', minLength: 1, description: 'ask for and verify client certificates' },
    clientCertificate: {
      type: 'string',
      enum: ['required', 'optional'],
      default: 'required',
      description:
        'with clientCaFile: refuse the handshake without a valid certificate, or accept it and let a certificate-bound token fail with 401',
    },
    minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2' },
    hsts: {
      type: 'object',
      additionalProperties: false,
      required: ['maxAgeSec'],
      properties: {
        maxAgeSec: { type: 'integer', minimum: 0 },
        includeSubDomains: { type: 'boolean', default: false },
        preload: { type: 'boolean', default: false },
      },
    },
  },
} as const;

export const trustedProxiesSchema = {
  type: 'array',
  items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' },
  default: [],
  description: 'peers (CIDRs) whose X-Forwarded-*, traceparent and X-Request-Id are believed',
} as const;

export const trustedProxyDepthSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 10,
  default: 1,
  description: 'how many trusted hops of X-Forwarded-For to walk back to find the client',
} as const;
