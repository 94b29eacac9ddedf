const limitKey = {
  description: 'what a limit is counted per: client address, user (sub), client id, or a request header',
  oneOf: [
    { type: 'string', enum: ['ip', 'user', 'client'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: { header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' } },
    },
  ],
} as const;

/** A route's rate limit: `average` requests per `period`, bursts up to `burst`, counted per `key`. */
export const rateLimitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['average', 'period', 'burst'],
  properties: {
    average: { type: 'number', exclusiveMinimum: 0 },
    period: {
      oneOf: [
        { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' },
        { type: 'integer', minimum: 1 },
      ],
    },
    burst: { type: 'integer', minimum: 1 },
    key: { ...limitKey, default: 'ip' },
  },
} as const;

/** A route's in-flight limit: requests at the same time, counted per `key`. */
export const inflightSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['max'],
  properties: { max: { type: 'integer', minimum: 1 }, key: { ...limitKey, default: 'ip' } },
} as const;
