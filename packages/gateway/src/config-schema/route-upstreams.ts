/** Probes of each replica of a route's upstreams. */
export const healthCheckSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', pattern: '^/', default: '/health' },
    intervalMs: { type: 'integer', minimum: 100, default: 5000 },
    timeoutMs: { type: 'integer', minimum: 10, default: 2000 },
    unhealthyThreshold: { type: 'integer', minimum: 1, default: 2 },
    healthyThreshold: { type: 'integer', minimum: 1, default: 1 },
    expect: {
      type: 'string',
      enum: ['success', 'answer'],
      default: 'success',
      description: 'success: a 2xx passes; answer: any answer below 500 passes (the replica is up)',
    },
  },
} as const;

/** TLS to a route's https upstreams. */
export const upstreamTlsSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'TLS to https upstreams: a private CA, and a client certificate for mTLS',
  properties: {
    caFile: { type: 'string', minLength: 1 },
    certFile: { type: 'string', minLength: 1 },
    keyFile: { type: 'string', minLength: 1 },
    servername: { type: 'string', minLength: 1 },
  },
  dependentRequired: { certFile: ['keyFile'], keyFile: ['certFile'] },
} as const;

/** When a failing replica is ejected and for how long. */
export const circuitBreakerSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    failureThreshold: { type: 'integer', minimum: 1, default: 5 },
    openMs: { type: 'integer', minimum: 100, default: 10000 },
  },
} as const;
