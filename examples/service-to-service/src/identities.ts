/**
 * Service B accepts tokens meant for it (audience, an absolute URI as RFC 8707 asks) and issued to
 * the services it names (client ids); Service A is the one it names.
 */
export const SERVICE_B_AUDIENCE = 'urn:gatehouse:service-b';
export const SERVICE_A_CLIENT_ID = 's2s-service-a';
export const SERVICE_B_CALLERS: readonly string[] = [SERVICE_A_CLIENT_ID];

/** Development only: public by design, refused in production (set S2S_SERVICE_A_CLIENT_SECRET). */
export const DEV_SERVICE_A_CLIENT_SECRET = 's2s-service-a-development-secret';
