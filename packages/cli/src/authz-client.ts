/** A refusal or failure of the permission service, said in one line for the terminal. */
export class AuthzClientError extends Error {}

export interface AuthzClient {
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>>;
}

/**
 * The CLI's HTTP client for a running permission service (its OpenFGA API): bearer token, JSON in and
 * out, and errors that name the status and the service's error code.
 */
export function createAuthzClient(options: { url: string; token: string | undefined }): AuthzClient {
  const base = options.url.replace(/\/$/, '');
  return {
    async request(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        throw new AuthzClientError(
          `cannot reach the permission service at ${base}: ${(err as Error).message}`,
        );
      }
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new AuthzClientError(`${res.status} from ${base}${path}: the answer is not JSON`);
      }
      if (!res.ok) {
        const code = json['code'] ?? json['error'] ?? 'error';
        const hint = res.status === 401 ? ' (pass --token or set GATEHOUSE_AUTHZ_TOKEN)' : '';
        throw new AuthzClientError(`${res.status} ${String(code)}: ${String(json['message'] ?? '')}${hint}`);
      }
      return json;
    },
  };
}
