-- Second factors: a TOTP authenticator per account and its one-time recovery codes.

create table idp_totp (
  user_id uuid primary key references idp_users (id) on delete cascade,
  -- AES-256-GCM under a key derived from idp.keyEncryptionSecret, the user id as authenticated data.
  secret_encrypted bytea not null,
  -- null while the person has not yet confirmed the setup with a first code.
  confirmed_at timestamptz,
  -- The last time step a code was accepted for: a code is never accepted twice.
  last_step bigint,
  created_at timestamptz not null default now()
);

create table idp_recovery_codes (
  user_id uuid not null references idp_users (id) on delete cascade,
  -- SHA-256 (hex) of an 80-bit random code (mfa/recovery-codes.ts says why not argon2id).
  code_hash text not null,
  used_at timestamptz,
  primary key (user_id, code_hash)
);
