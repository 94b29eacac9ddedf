-- OpenID Provider storage: oidc-provider models, signing keys, clients, JWT access-token bookkeeping.

-- Every oidc-provider model (Session, Interaction, AuthorizationCode, RefreshToken, Grant, ...),
-- keyed by model name and id. The payload is oidc-provider's; the other columns are the lookups
-- its adapter port needs (by grant, by user code, by uid) and single use (consumed_at).
create table idp_oidc_models (
  model text not null,
  id text not null,
  payload jsonb not null,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  primary key (model, id)
);
create index idp_oidc_models_grant on idp_oidc_models (grant_id) where grant_id is not null;
create index idp_oidc_models_uid on idp_oidc_models (model, uid) where uid is not null;
create index idp_oidc_models_user_code on idp_oidc_models (model, user_code) where user_code is not null;
create index idp_oidc_models_expiry on idp_oidc_models (expires_at) where expires_at is not null;

-- Signing keys. The private JWK is AES-256-GCM encrypted (iv || tag || ciphertext) with a key derived
-- from idp.keyEncryptionSecret; only the public JWK is stored in clear.
-- state: next (published, not signing) -> active (signing) -> retired (published until not_after).
create table idp_signing_keys (
  kid text primary key,
  alg text not null,
  state text not null check (state in ('next', 'active', 'retired')),
  public_jwk jsonb not null,
  private_jwk_encrypted bytea not null,
  created_at timestamptz not null default now(),
  activated_at timestamptz,
  retired_at timestamptz,
  not_after timestamptz
);
create unique index idp_signing_keys_one_active on idp_signing_keys (state) where state = 'active';

-- Clients (OAuth metadata in oidc-provider's snake_case form; client_secret holds a SHA-256 hex hash).
-- source: config (from the config file), demo (development fixtures), admin (admin API / CLI).
create table idp_clients (
  client_id text primary key,
  metadata jsonb not null,
  source text not null default 'admin' check (source in ('config', 'demo', 'admin')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- JWT access tokens issued within a grant (user tokens): oidc-provider does not store JWTs, so this is
-- what lets a grant revocation (logout, code or refresh-token reuse) revoke them too.
create table idp_jwt_access_tokens (
  jti text primary key,
  grant_id text not null,
  sid text,
  client_id text not null,
  account_id text,
  expires_at timestamptz not null
);
create index idp_jwt_access_tokens_grant on idp_jwt_access_tokens (grant_id);
create index idp_jwt_access_tokens_sid on idp_jwt_access_tokens (sid) where sid is not null;
create index idp_jwt_access_tokens_expiry on idp_jwt_access_tokens (expires_at);

-- Revoked JWT ids and session ids, kept until the tokens they name would have expired anyway.
create table idp_revocations (
  kind text not null check (kind in ('jti', 'sid')),
  value text not null,
  expires_at timestamptz not null,
  revoked_at timestamptz not null default now(),
  primary key (kind, value)
);
create index idp_revocations_expiry on idp_revocations (expires_at);
