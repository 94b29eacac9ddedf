import type { VuHttp } from './http-client.ts';

export interface OidcEndpoints {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** How they were found, for the run's notes. */
  note?: string;
}

/**
 * Reads the issuer's discovery document through the target. Endpoints are re-based onto the
 * target's origin, so a bench against 127.0.0.1 works when the issuer says localhost.
 */
export async function discoverEndpoints(http: VuHttp, issuerPath: string): Promise<OidcEndpoints> {
  const base = issuerPath.replace(/\/+$/, '');
  const fallback = {
    issuer: new URL(base, http.target).href,
    authorizationEndpoint: new URL(`${base}/auth`, http.target).href,
    tokenEndpoint: new URL(`${base}/token`, http.target).href,
  };
  let doc: Record<string, unknown> | undefined;
  try {
    const res = await http.request('GET', `${base}/.well-known/openid-configuration`);
    const parsed = res.json();
    if (parsed && typeof parsed === 'object') doc = parsed as Record<string, unknown>;
  } catch (err) {
    return {
      ...fallback,
      note: `discovery at ${base}/.well-known/openid-configuration failed (${(err as Error).message}); using ${base}/token`,
    };
  }
  const rebase = (value: unknown, dflt: string) => {
    if (typeof value !== 'string') return dflt;
    const u = new URL(value);
    return new URL(`${u.pathname}${u.search}`, http.target).href;
  };
  return {
    issuer: typeof doc?.issuer === 'string' ? doc.issuer : fallback.issuer,
    authorizationEndpoint: rebase(doc?.authorization_endpoint, fallback.authorizationEndpoint),
    tokenEndpoint: rebase(doc?.token_endpoint, fallback.tokenEndpoint),
  };
}
