import type { IncomingMessage } from 'node:http';
import type Provider from 'oidc-provider';
import type { errors, KoaContextWithOIDC, ClientMetadata as ProviderClientMetadata } from 'oidc-provider';

/**
 * The only module of the idp that relies on how oidc-provider works inside, beyond its documented
 * configuration and API (docs/README.md of the release below: routes, events, ctx.oidc.route and
 * entities, registerGrantType, interactionDetails/interactionFinished, the Grant recipe of
 * loadExistingGrant, ExternalSigningKey under externalSigningSupport, the allowedPolicy helpers).
 * Every function here names the behaviour it depends on, and test/oidc-provider-pin.test.ts asserts
 * each one against the installed oidc-provider, so an upgrade that changes one fails there first.
 * One more reliance belongs to the storage port rather than here: the order in which oidc-provider
 * calls its adapter within a request, which the adapter's read-ahead counts on (storage/adapter.ts
 * states it; test/oidc-provider-pin-call-order.test.ts records it against this version).
 * oidc-provider is pinned to this exact version in packages/idp/package.json.
 */
export const OIDC_PROVIDER_VERSION = '9.13.3';

type ClientClass = Provider['Client'];

/**
 * Compare `client_secret_basic` / `client_secret_post` secrets with `matches` instead of equality.
 * Relies on: oidc-provider authenticating those methods by calling the client instance's
 * `compareClientSecret(presented)` (its maintainer's advice for hashed secrets,
 * panva/node-oidc-provider#631; not in its documentation).
 */
export function compareClientSecretsWith(
  Client: ClientClass,
  matches: (presented: string, stored: string) => boolean,
): void {
  Object.defineProperty(Client.prototype, 'compareClientSecret', {
    configurable: true,
    writable: true,
    value(this: { clientSecret?: string }, presented: string): boolean {
      if (typeof presented !== 'string' || typeof this.clientSecret !== 'string') return false;
      return matches(presented, this.clientSecret);
    },
  });
}

/**
 * Skip oidc-provider's per-request client lookup while the caller's cache says nothing changed.
 * `freshEntry(id)` is the caller's cache entry of a client while it is fresh (a new object whenever
 * the metadata may have changed): the instance a lookup found while an entry was fresh, and still
 * is, is returned directly for as long as that entry stays fresh.
 * Relies on: oidc-provider looking clients up through the static `provider.Client.find` (so that
 * replacing it on the instance's Client class takes effect for client authentication and every other
 * lookup), and a Client instance never changing after it is built.
 */
export function cacheClientInstances(
  Client: ClientClass,
  freshEntry: (id: string) => object | undefined,
): void {
  const find = Client.find;
  const instances = new WeakMap<object, Awaited<ReturnType<ClientClass['find']>>>();
  Client.find = async function cachedFind(this: unknown, id: string) {
    const entry = typeof id === 'string' ? freshEntry(id) : undefined;
    const known = entry && instances.get(entry);
    if (known) return known;
    const client = await find.call(this, id);
    if (client && entry && freshEntry(id) === entry) instances.set(entry, client);
    return client;
  };
}

/** A client of the provider by id (its static `Client.find`), or undefined. */
export function findProviderClient(provider: Provider, clientId: string): ReturnType<ClientClass['find']> {
  return provider.Client.find(clientId);
}

/** Check client metadata with oidc-provider's own rules (its static `Client.validate`). */
export function validateClientMetadata(provider: Provider, metadata: object): Promise<void> {
  return provider.Client.validate(metadata as ProviderClientMetadata);
}

/**
 * The path (below the issuer) of an authorization request's resume after an interaction.
 * Relies on: the resume route being `routes.authorization` followed by `/:uid` (not documented;
 * interactionDetails only hands out the whole `returnTo` URL).
 */
export function resumePathPattern(authorizationRoute: string): RegExp {
  return new RegExp(`^${authorizationRoute.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^/]+$`);
}

/**
 * Whether `err` (from an `introspection.error` or `revocation.error` event) is oidc-provider
 * refusing a structured (JWT) token. Relies on: oidc-provider refusing every JWT at those two
 * endpoints with `unsupported_token_type`, after it authenticated the client.
 */
export function isStructuredTokenRefusal(err: { error?: string }): boolean {
  return err.error === 'unsupported_token_type';
}

/**
 * Hand a request body that a middleware already read to oidc-provider's body parser.
 * Relies on: oidc-provider reading `req.body` when the request stream was consumed before it.
 */
export function handReadBodyOn(req: IncomingMessage, body: Buffer): void {
  (req as IncomingMessage & { body?: Buffer }).body = body;
}

/**
 * The status, headers and body oidc-provider's userinfo endpoint answers with when it refuses a
 * bearer token with `err` (InvalidToken, InsufficientScope).
 * Relies on: that endpoint's WWW-Authenticate challenge (`Bearer realm="<issuer>", error=…,
 * error_description=…, scope=…`, quoted and escaped) and its `{ error, error_description, scope }`
 * body (scope only when the error names one).
 */
export function bearerRefusal(
  issuer: string,
  err: errors.InvalidToken | errors.InsufficientScope,
): { status: number; challenge: string; body: { error: string; error_description: string; scope?: string } } {
  const description = err.error_description ?? '';
  const scope = (err as { scope?: string }).scope;
  const fields: Record<string, string | undefined> = {
    realm: issuer,
    error: err.error,
    error_description: description,
    scope,
  };
  const challenge = Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(', ');
  return {
    status: err.statusCode,
    challenge: `Bearer ${challenge}`,
    body: { error: err.error, error_description: description, ...(scope === undefined ? {} : { scope }) },
  };
}

/** The parts of an interaction that storing a result in place uses. */
export interface InteractionResultTarget {
  result?: unknown;
  exp: number;
  returnTo: string;
  save(ttl: number): Promise<unknown>;
}

/**
 * `provider.interactionResult(req, res, result, { mergeWithLastSubmission: false })` on an
 * interaction already read (interactionDetails), without reading it a second time: sets the result;
 * `save` stores it for the rest of the interaction's lifetime; `returnTo` is where the browser goes.
 * Relies on: interactionResult being exactly those steps on the model interactionDetails returns.
 */
export function interactionResultInPlace(
  interaction: object,
  result: Record<string, unknown>,
): { save: () => Promise<unknown>; returnTo: string } {
  const model = interaction as InteractionResultTarget;
  model.result = result;
  return {
    save: () => model.save(model.exp - Math.floor(Date.now() / 1000)),
    returnTo: model.returnTo,
  };
}

/**
 * The uid of the OIDC session an `end_session_confirm` request ended, else undefined.
 * Relies on: a destroyed session model keeping `destroyed = true` and its `uid` on `ctx.oidc.session`.
 */
export function endedSessionUid(ctx: KoaContextWithOIDC): string | undefined {
  const session = ctx.oidc?.session as { destroyed?: boolean; uid?: unknown } | undefined;
  return session?.destroyed === true && typeof session.uid === 'string' ? session.uid : undefined;
}

/** What an access token issued by a custom grant is made of. */
export interface GrantAccessToken {
  accountId: string;
  client: NonNullable<KoaContextWithOIDC['oidc']['client']>;
  scope: string;
  gty: string;
  expiresIn: number;
  grantId?: string | undefined;
  /** The resource indicator it is for, the scopes that resource allows, and the JWT's algorithm. */
  resource: { indicator: string; scope: string; alg: string };
}

/**
 * A JWT access token for one resource, built inside a custom grant (registerGrantType) and made the
 * request's AccessToken entity, so events and `extraTokenClaims` see it as they see the built-in
 * grants' tokens; `save()` issues it.
 * Relies on: the undocumented `provider.ResourceServer` class and `ctx.oidc.entity`, used as
 * oidc-provider's own grants use them (its documentation points custom grants at lib/actions/grants).
 */
export function newGrantAccessToken(
  ctx: KoaContextWithOIDC,
  token: GrantAccessToken,
): InstanceType<Provider['AccessToken']> {
  const provider = ctx.oidc.provider;
  const ResourceServer = (provider as unknown as { ResourceServer: new (id: string, info: object) => object })
    .ResourceServer;
  const accessToken = new provider.AccessToken({
    accountId: token.accountId,
    client: token.client,
    scope: token.scope,
    gty: token.gty,
    expiresIn: token.expiresIn,
    ...(token.grantId === undefined ? {} : { grantId: token.grantId }),
    resourceServer: new ResourceServer(token.resource.indicator, {
      scope: token.resource.scope,
      audience: token.resource.indicator,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: token.resource.alg } },
    }),
  } as unknown as ConstructorParameters<Provider['AccessToken']>[0]);
  ctx.oidc.entity('AccessToken', accessToken);
  return accessToken;
}
