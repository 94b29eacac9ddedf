import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml, readFields } from '@gatehouse/core';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { renderPage } from '../pages/layout.ts';

/**
 * "Example Corp": a small, separate OpenID provider (its own oidc-provider instance, issuer and
 * people) that `gatehouse dev` runs on its own loopback port and offers as a sign-in button, so a
 * newcomer sees brokering work with nothing installed. Development only: its people and client
 * secret are public.
 */
export interface DemoPerson {
  username: string;
  password: string;
  name: string;
  email: string;
  emailVerified: boolean;
  groups: string[];
}

export const demoPeople: DemoPerson[] = [
  {
    username: 'dana',
    password: 'dana-example-corp',
    name: 'Dana Example',
    email: 'dana@example.com',
    emailVerified: true,
    groups: ['staff'],
  },
  {
    username: 'sam',
    password: 'sam-example-corp',
    name: 'Sam Example',
    email: 'sam@example.com',
    emailVerified: false,
    groups: [],
  },
];

export interface DemoUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The broker's callback URLs the client may redirect to (the provider is rebuilt with them). */
  setRedirectUris(uris: string[]): void;
  close(): Promise<void>;
}

export interface DemoUpstreamOptions {
  redirectUris?: string[];
  people?: DemoPerson[];
  /** Signing keys (private JWKs); default a fresh ES256 key. */
  jwks?: { keys: Record<string, unknown>[] };
  /** Wrap the HTTP handler (tests put a tampering proxy in front of the token endpoint). */
  wrap?: (handler: RequestListener) => RequestListener;
  port?: number;
  /**
   * Whether the ID token carries the person's claims (default true), as Google's, Entra ID's and
   * Keycloak's do; false: only `sub`, the rest at userinfo (oidc-provider's `conformIdTokenClaims`).
   */
  idTokenClaims?: boolean;
}

const CLIENT_ID = 'gatehouse-demo';
const CLIENT_SECRET = 'example-corp-demo-secret-not-for-production';

export async function startDemoUpstream(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const people = options.people ?? demoPeople;
  let jwks = options.jwks;
  if (!jwks) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'example-corp' }] };
  }
  const cookieKey = randomBytes(32).toString('base64url');
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const build = (redirectUris: string[]) => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: redirectUris.length > 0 ? redirectUris : [`${issuer}/unused`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: jwks as never,
      cookies: { keys: [cookieKey] },
      pkce: { required: () => true },
      claims: {
        openid: ['sub'],
        profile: ['name', 'preferred_username'],
        email: ['email', 'email_verified'],
        groups: ['groups'],
      },
      conformIdTokenClaims: options.idTokenClaims === false,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      async findAccount(_ctx, id) {
        const person = people.find((p) => p.username === id);
        if (!person) return undefined;
        return {
          accountId: id,
          async claims() {
            return {
              sub: person.username,
              name: person.name,
              preferred_username: person.username,
              email: person.email,
              email_verified: person.emailVerified,
              groups: person.groups,
            };
          },
        };
      },
      // The broker is this provider's only client: its scopes are granted without a consent page.
      async loadExistingGrant(ctx) {
        const grantId = ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
        if (grantId) {
          const existing = await ctx.oidc.provider.Grant.find(grantId);
          if (existing) return existing;
        }
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid profile email groups');
        await grant.save();
        return grant;
      },
    });
    const oidc = provider.callback();
    const own: RequestListener = (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith('/interaction/')) {
        interaction(provider, people, req, res).catch(() => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end('sign-in failed');
        });
        return;
      }
      oidc(req, res);
    };
    handler = options.wrap ? options.wrap(own) : own;
  };
  build(options.redirectUris ?? []);

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    setRedirectUris: build,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Example Corp's own sign-in page (GET) and its password check (POST). */
async function interaction(
  provider: Provider,
  people: DemoPerson[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const show = (status: number, error?: string) => {
    const page = renderPage({
      title: 'Example Corp sign-in',
      body: `<h1>Example Corp</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(details.uid)}">
<label for="username">Example Corp username</label>
<input id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in to Example Corp</button>
</form>`,
    });
    res.writeHead(status, page.headers).end(page.html);
  };
  if (req.method === 'GET') return show(200);
  const fields = await readFields(req, 4096);
  const person = people.find((p) => p.username === fields['username']);
  if (!person || !same(person.password, fields['password'] ?? ''))
    return show(401, 'Wrong username or password');
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: person.username } },
    { mergeWithLastSubmission: false },
  );
}
