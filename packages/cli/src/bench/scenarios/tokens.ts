import { CodeFlow } from '../code-flow.ts';
import type { VuHttp } from '../http-client.ts';
import { discoverEndpoints, type OidcEndpoints } from '../oidc-endpoints.ts';
import type { Scenario, ScenarioOptions, Step, UserFlow } from '../scenario.ts';
import { StepFailedError } from '../step-errors.ts';

/** RFC 6749 §2.3.1: the client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

async function clientCredentials(
  http: VuHttp,
  endpoints: OidcEndpoints,
  options: ScenarioOptions,
): Promise<void> {
  const { id, secret, auth } = options.client;
  const res = await http.request(
    'POST',
    endpoints.tokenEndpoint,
    auth === 'basic'
      ? { headers: { authorization: basicAuth(id, secret) }, form: { grant_type: 'client_credentials' } }
      : { form: { grant_type: 'client_credentials', client_id: id, client_secret: secret } },
  );
  const body = res.json() as { access_token?: unknown } | undefined;
  if (typeof body?.access_token !== 'string') throw new StepFailedError('no access_token');
}

function userFlow(
  http: VuHttp,
  endpoints: OidcEndpoints,
  options: ScenarioOptions,
  refresh: boolean,
): UserFlow {
  let refreshToken: string | undefined;
  const flow = new CodeFlow(http, endpoints, options.publicClient, options.login);
  const steps: Step[] = [
    {
      service: 'auth',
      name: 'client credentials grant',
      role: 'token',
      run: () => clientCredentials(http, endpoints, options),
    },
  ];
  if (!refresh) return { setup: [], steps };
  steps.push({
    service: 'auth',
    name: 'refresh token grant',
    role: 'token',
    async run() {
      const presented = refreshToken;
      // Refresh tokens rotate: a failed refresh leaves this user without one, so it logs in again.
      refreshToken = undefined;
      if (presented === undefined) throw new StepFailedError('no refresh token');
      const res = await http.request('POST', endpoints.tokenEndpoint, {
        form: { grant_type: 'refresh_token', refresh_token: presented, client_id: options.publicClient.id },
      });
      const body = res.json() as { refresh_token?: unknown; access_token?: unknown } | undefined;
      if (typeof body?.access_token !== 'string') throw new StepFailedError('no access_token');
      refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : presented;
    },
  });
  return {
    setup: [
      { service: 'auth', name: 'authorize (to login page)', run: () => flow.authorize() },
      { service: 'auth', name: 'login form (to code)', role: 'login', run: () => flow.logIn() },
      {
        service: 'auth',
        name: 'authorization code grant',
        role: 'token',
        async run() {
          refreshToken = await flow.exchangeCode();
        },
      },
    ],
    steps,
    ready: () => refreshToken !== undefined,
  };
}

/**
 * Token generation: the client credentials grant of a confidential client, and the refresh token
 * grant of the public client `demo-app`, whose refresh token each virtual user first gets through
 * the code + PKCE flow with the login form.
 */
export const tokensScenario: Scenario = {
  name: 'tokens',
  summary: 'client credentials grant and refresh token grant (after one code + PKCE login per user)',
  async prepare(http, options) {
    const notes: string[] = [];
    const endpoints = await discoverEndpoints(http, options.issuerPath);
    if (endpoints.note) notes.push(endpoints.note);
    notes.push(`token endpoint ${endpoints.tokenEndpoint}`);
    // One trial login, untimed: if the login form does not work yet, leave refresh out and say why.
    let refresh = true;
    try {
      const trial = new CodeFlow(http, endpoints, options.publicClient, options.login);
      await trial.authorize();
      await trial.logIn();
      await trial.exchangeCode();
    } catch (err) {
      refresh = false;
      notes.push(
        `refresh token grant skipped: the code + PKCE login of ${options.publicClient.id} as ${options.login.username} failed (${(err as Error).message})`,
      );
    }
    http.cookies.clear();
    return { notes, createUser: (ctx) => userFlow(ctx.http, endpoints, options, refresh) };
  },
};
