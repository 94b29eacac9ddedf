import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from '@gatehouse/core';
import { type IdpClientConfig, TOKEN_EXCHANGE_GRANT } from '../config-schema.ts';
import { idpErrors } from '../errors.ts';
import { ACR_MFA } from '../mfa/acr.ts';

/**
 * The client registry, in SQL (`idp_clients`), in oidc-provider's snake_case metadata form.
 *
 * Client secrets are stored as SHA-256 hashes. They are high-entropy values the server generates
 * (or long secrets from the config), so a fast hash is enough to make a stolen table useless, and a
 * slow password hash (argon2) would cap token throughput. oidc-provider compares `client_secret`
 * itself; provider.ts has it compare `clientSecretMatches` against the hash instead.
 */

export type ClientSource = 'config' | 'demo' | 'admin';

/** oidc-provider client metadata plus Gatehouse's own fields (`roles`, `first_party`). */
export interface ClientMetadata {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  response_types: string[];
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  backchannel_logout_uri?: string;
  jwks_uri?: string;
  jwks?: { keys: Record<string, unknown>[] };
  backchannel_logout_session_required?: boolean;
  scope?: string;
  roles: string[];
  first_party: boolean;
  /** Resource indicator → the exact scopes a token for it may carry (provider.ts, token-exchange.ts). */
  resources?: Record<string, string[]>;
  /** Origins of browser apps allowed to call the token, userinfo and other endpoints (CORS). */
  web_origins?: string[];
  [key: string]: unknown;
}

/** The metadata properties Gatehouse adds to oidc-provider's (its `extraClientMetadata`). */
export const EXTRA_CLIENT_METADATA = ['roles', 'first_party', 'resources', 'web_origins'] as const;

/** A client's `resources` metadata, or an empty map when it lists none (or it is malformed). */
export function clientResources(metadata: Record<string, unknown>): Record<string, string[]> {
  const value = metadata['resources'];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string[]> = {};
  for (const [indicator, scopes] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(scopes)) out[indicator] = scopes.filter((s): s is string => typeof s === 'string');
  }
  return out;
}

/** Gatehouse's fields of an oidc-provider client, read from its metadata. */
export interface ClientPolicy {
  roles: readonly string[];
  firstParty: boolean;
  /** Resource indicator → scopes (see `clientResources`). */
  resources: Readonly<Record<string, readonly string[]>>;
  /** Browser origins allowed to call the identity provider's endpoints for this client (CORS). */
  webOrigins: readonly string[];
}

// oidc-provider's `client.metadata()` rebuilds a snake_case copy of every property at each call (a
// regular expression per key), and a token request asked for it several times: about 6 % of a
// client-credentials grant. An oidc-provider Client instance never changes (a client whose stored
// metadata change is a new instance: oidc-provider keys its instances by a hash of the metadata),
// so its fields are read once per instance.
const policies = new WeakMap<object, ClientPolicy>();

/** The roles, first-party flag and resources of an oidc-provider client, read once per instance. */
export function clientPolicy(client: { metadata(): Record<string, unknown> }): ClientPolicy {
  let policy = policies.get(client);
  if (!policy) {
    const md = client.metadata();
    const roles = Array.isArray(md['roles'])
      ? md['roles'].filter((r): r is string => typeof r === 'string')
      : [];
    const resources = clientResources(md);
    for (const scopes of Object.values(resources)) Object.freeze(scopes);
    policy = Object.freeze({
      roles: Object.freeze(roles),
      firstParty: md['first_party'] === true || md['firstParty'] === true,
      resources: Object.freeze(resources),
      webOrigins: Object.freeze(
        Array.isArray(md['web_origins'])
          ? md['web_origins'].filter((o): o is string => typeof o === 'string')
          : [],
      ),
    });
    policies.set(client, policy);
  }
  return policy;
}

/**
 * Whether a browser on `origin` may read this client's answers (CORS): an origin the client lists in
 * `webOrigins`, or for a public client (an SPA) the origin of one of its redirect URIs.
 * Confidential clients are servers: no origin unless listed.
 */
export function clientAllowsOrigin(
  client: {
    clientAuthMethod?: string;
    redirectUris?: readonly string[];
    metadata(): Record<string, unknown>;
  },
  origin: string,
): boolean {
  if (origin === 'null') return false;
  if (clientPolicy(client).webOrigins.includes(origin)) return true;
  return (
    client.clientAuthMethod === 'none' &&
    (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin)
  );
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored SHA-256 hex hash. */
export function clientSecretMatches(presented: string, storedHash: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(hashClientSecret(presented), 'hex'), Buffer.from(storedHash, 'hex'));
}

/** A new client secret: 256 random bits, base64url. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Convert a config-file client to stored metadata (the secret hashed). */
export function clientMetadataFromConfig(c: IdpClientConfig): ClientMetadata {
  const confidential =
    c.tokenEndpointAuthMethod === 'client_secret_basic' || c.tokenEndpointAuthMethod === 'client_secret_post';
  const secretHash =
    c.clientSecretSha256 ?? (c.clientSecret === undefined ? undefined : hashClientSecret(c.clientSecret));
  if (confidential && secretHash === undefined) {
    throw idpErrors.create(
      'IDP_CLIENT_INVALID',
      `client ${c.clientId}: clientSecret or clientSecretSha256 is required`,
    );
  }
  if (!confidential && secretHash !== undefined) {
    throw idpErrors.create(
      'IDP_CLIENT_INVALID',
      `client ${c.clientId}: a secret is useless with ${c.tokenEndpointAuthMethod}`,
    );
  }
  const usesCode = c.grantTypes.includes('authorization_code');
  if (usesCode && c.redirectUris.length === 0) {
    throw idpErrors.create(
      'IDP_CLIENT_INVALID',
      `client ${c.clientId}: authorization_code needs redirectUris`,
    );
  }
  if (c.tokenEndpointAuthMethod === 'none' && c.grantTypes.includes('client_credentials')) {
    throw idpErrors.create(
      'IDP_CLIENT_INVALID',
      `client ${c.clientId}: a public client cannot use client_credentials`,
    );
  }
  if (c.tokenEndpointAuthMethod === 'none' && c.grantTypes.includes(TOKEN_EXCHANGE_GRANT)) {
    throw idpErrors.create(
      'IDP_CLIENT_INVALID',
      `client ${c.clientId}: a public client cannot use token exchange`,
    );
  }
  for (const indicator of Object.keys(c.resources ?? {})) {
    if (!URL.canParse(indicator) || indicator.includes('#')) {
      throw idpErrors.create(
        'IDP_CLIENT_INVALID',
        `client ${c.clientId}: resource ${indicator} must be an absolute URI without a fragment`,
      );
    }
  }
  const md: ClientMetadata = {
    client_id: c.clientId,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    grant_types: [...c.grantTypes],
    response_types: usesCode ? ['code'] : [],
    redirect_uris: [...c.redirectUris],
    post_logout_redirect_uris: [...c.postLogoutRedirectUris],
    roles: [...c.roles],
    first_party: c.firstParty,
  };
  if (c.requireMfa) md.default_acr_values = [ACR_MFA];
  if (c.scope !== '') md.scope = c.scope;
  if (secretHash !== undefined) md.client_secret = secretHash;
  if (c.backchannelLogoutUri !== undefined) md.backchannel_logout_uri = c.backchannelLogoutUri;
  if (c.backchannelLogoutSessionRequired !== undefined)
    md.backchannel_logout_session_required = c.backchannelLogoutSessionRequired;
  if (c.resources !== undefined && Object.keys(c.resources).length > 0)
    md.resources = Object.fromEntries(Object.entries(c.resources).map(([k, v]) => [k, [...v]]));
  if (c.jwksUri !== undefined) md.jwks_uri = c.jwksUri;
  if (c.jwks !== undefined) md.jwks = c.jwks;
  if (c.idTokenSignedResponseAlg !== undefined) md.id_token_signed_response_alg = c.idTokenSignedResponseAlg;
  if (c.webOrigins !== undefined && c.webOrigins.length > 0) md.web_origins = [...c.webOrigins];
  if (c.certificateBoundAccessTokens === true) md.tls_client_certificate_bound_access_tokens = true;
  return md;
}

// Client lookups happen on every token request; a short per-process cache saves a round trip each.
// Changes made through this module drop the entry at once in this process; other replicas see a
// changed or deleted client (a rotated secret) within the cache time.
interface CachedClient {
  at: number;
  maxAgeMs: number;
  metadata: ClientMetadata | undefined;
}
const clientCaches = new WeakMap<Sql, Map<string, CachedClient>>();

/**
 * The cache entry of `clientId` while it is fresh, else undefined: an object that stays the same
 * exactly as long as the cached metadata does (provider.ts keeps oidc-provider's Client instances by it).
 */
export function freshClientEntry(sql: Sql, clientId: string): object | undefined {
  const entry = clientCaches.get(sql)?.get(clientId);
  return entry && Date.now() - entry.at < entry.maxAgeMs ? entry : undefined;
}

function forget(sql: Sql, clientId?: string): void {
  const cache = clientCaches.get(sql);
  if (!cache) return;
  if (clientId === undefined) cache.clear();
  else cache.delete(clientId);
}

/** findClient through the per-process cache (`maxAgeMs` 0 reads SQL every time). */
export async function findClientCached(
  sql: Sql,
  clientId: string,
  maxAgeMs: number,
): Promise<ClientMetadata | undefined> {
  let cache = clientCaches.get(sql);
  if (!cache) {
    cache = new Map();
    clientCaches.set(sql, cache);
  }
  const now = Date.now();
  const hit = cache.get(clientId);
  if (!hit || now - hit.at >= maxAgeMs) {
    const metadata = await findClient(sql, clientId);
    if (cache.size >= 10_000) cache.clear(); // lookups of unknown ids must not grow it without bound
    cache.set(clientId, { at: now, maxAgeMs, metadata });
    return metadata === undefined ? undefined : structuredClone(metadata);
  }
  return hit.metadata === undefined ? undefined : structuredClone(hit.metadata);
}

export async function upsertClient(sql: Sql, metadata: ClientMetadata, source: ClientSource): Promise<void> {
  await sql.query(
    `insert into idp_clients (client_id, metadata, source) values ($1, $2::jsonb, $3)
     on conflict (client_id) do update set metadata = excluded.metadata, source = excluded.source, updated_at = now()`,
    [metadata.client_id, JSON.stringify(metadata), source],
  );
  forget(sql, metadata.client_id);
}

/** An enabled client's metadata; a disabled client is not found (no grant, no token, no admin call). */
export async function findClient(sql: Sql, clientId: string): Promise<ClientMetadata | undefined> {
  const rows = await sql.query<{ metadata: ClientMetadata }>(
    'select metadata from idp_clients where client_id = $1 and enabled',
    [clientId],
  );
  return rows[0]?.metadata;
}

/** Whether a client is registered, enabled or not. */
export async function clientExists(sql: Sql, clientId: string): Promise<boolean> {
  const rows = await sql.query('select 1 from idp_clients where client_id = $1', [clientId]);
  return rows.length > 0;
}

/** Enable or disable a client; false when there is no such client. */
export async function setClientEnabled(sql: Sql, clientId: string, enabled: boolean): Promise<boolean> {
  const rows = await sql.query(
    'update idp_clients set enabled = $2, updated_at = now() where client_id = $1 returning client_id',
    [clientId, enabled],
  );
  forget(sql, clientId);
  return rows.length > 0;
}

export async function listClients(sql: Sql): Promise<
  Array<{
    clientId: string;
    source: ClientSource;
    enabled: boolean;
    metadata: Omit<ClientMetadata, 'client_secret'>;
  }>
> {
  const rows = await sql.query<{
    client_id: string;
    source: ClientSource;
    enabled: boolean;
    metadata: ClientMetadata;
  }>('select client_id, source, enabled, metadata from idp_clients order by client_id');
  return rows.map((r) => {
    const { client_secret: _hidden, ...metadata } = r.metadata;
    return { clientId: r.client_id, source: r.source, enabled: r.enabled, metadata };
  });
}

export async function deleteClient(sql: Sql, clientId: string): Promise<boolean> {
  forget(sql, clientId);
  const rows = await sql.query('delete from idp_clients where client_id = $1 returning client_id', [
    clientId,
  ]);
  return rows.length > 0;
}

/** Replace a confidential client's secret; returns the new secret (shown once, never stored). */
export async function rotateClientSecret(sql: Sql, clientId: string): Promise<string> {
  const secret = generateClientSecret();
  const rows = await sql.query(
    `update idp_clients set metadata = jsonb_set(metadata, '{client_secret}', to_jsonb($2::text)), updated_at = now()
     where client_id = $1 and metadata ? 'client_secret' returning client_id`,
    [clientId, hashClientSecret(secret)],
  );
  forget(sql, clientId);
  if (rows.length === 0) throw idpErrors.create('IDP_CLIENT_NOT_FOUND', `no confidential client ${clientId}`);
  return secret;
}

/**
 * Store the config file's clients (replacing earlier versions of them) and drop config clients that
 * left the file. Clients created by the admin API are untouched.
 */
export async function syncConfigClients(sql: Sql, clients: IdpClientConfig[]): Promise<void> {
  const metadata = clients.map(clientMetadataFromConfig);
  for (const md of metadata) await upsertClient(sql, md, 'config');
  await sql.query(`delete from idp_clients where source = 'config' and not (client_id = any($1::text[]))`, [
    metadata.map((m) => m.client_id),
  ]);
  forget(sql);
}

/**
 * The development fixtures the README lists: `demo-service` (confidential, client credentials,
 * role `service`) and `demo-app` (public, code + PKCE, redirect `<publicUrl>/callback`). Secrets
 * here are public by design.
 */
export function demoClients(
  publicUrl = 'http://localhost:8080',
  demoServiceResources?: Record<string, string[]>,
): IdpClientConfig[] {
  const origin = publicUrl.replace(/\/$/, '');
  return [
    {
      clientId: 'demo-service',
      clientSecret: 'demo-service-secret',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      postLogoutRedirectUris: [],
      scope: '',
      roles: ['service'],
      firstParty: true,
      ...(demoServiceResources ? { resources: demoServiceResources } : {}),
    },
    {
      clientId: 'demo-app',
      tokenEndpointAuthMethod: 'none',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [`${origin}/callback`],
      postLogoutRedirectUris: [`${origin}/`],
      scope: 'openid profile email offline_access',
      roles: [],
      firstParty: true,
    },
  ];
}

/**
 * Seed the demo clients. Development only: the CLI calls it (through seedDevelopmentFixtures) when
 * demo fixtures are on, which production refuses, so the public demo secret never exists in a
 * production database.
 */
export async function seedDemoClients(
  sql: Sql,
  publicUrl?: string,
  demoServiceResources?: Record<string, string[]>,
): Promise<string[]> {
  const clients = demoClients(publicUrl, demoServiceResources);
  for (const c of clients) await upsertClient(sql, clientMetadataFromConfig(c), 'demo');
  return clients.map((c) => c.clientId);
}
