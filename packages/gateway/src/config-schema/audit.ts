/** `gateway.audit`: which allowed and refused requests the decision audit logs. */
export const auditSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'decision audit: one log line (`audit: "gateway"`) per sampled allow or deny, with the route, the reason, the client id and subject; can change on reload',
  properties: {
    allowSampleRate: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0,
      description: 'share of allowed requests audited (the reason is the route policy that let it through)',
    },
    denySampleRate: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0,
      description: 'share of refused requests audited (the reason is the error code)',
    },
  },
} as const;
