-- Passkeys (WebAuthn credentials): several per account, each named by its owner.

create table idp_passkeys (
  id uuid primary key,
  user_id uuid not null references idp_users (id) on delete cascade,
  -- The authenticator's credential id (base64url): unique across every account.
  credential_id text not null unique,
  -- COSE public key, as the authenticator gave it at registration.
  public_key bytea not null,
  -- The signature counter last seen: an assertion must bring a higher one (a cloned key does not).
  counter bigint not null default 0,
  transports text[] not null default '{}',
  -- singleDevice (hardware-bound) or multiDevice (synced): amr hwk or swk.
  device_type text not null,
  backed_up boolean not null default false,
  name text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);

create index idp_passkeys_user on idp_passkeys (user_id);
