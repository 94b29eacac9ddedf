-- Account recovery and email: whether the account's address is proven, and the one-time links
-- (email verification, password reset) sent to it.

-- True only after the person opened a verification link sent to the address; a changed address
-- starts unverified again.
alter table idp_users add column email_verified boolean not null default false;

create table idp_recovery_tokens (
  -- SHA-256 (hex) of a 256-bit random token (recovery/recovery-tokens.ts says why not argon2id).
  token_hash text primary key,
  purpose text not null check (purpose in ('email-verification', 'password-reset')),
  user_id uuid not null references idp_users (id) on delete cascade,
  -- The address the link was sent to: for a verification, the address it proves (a new one for
  -- an email change, which takes effect only then).
  email text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);

create index idp_recovery_tokens_user on idp_recovery_tokens (user_id, purpose);
create index idp_recovery_tokens_expires on idp_recovery_tokens (expires_at);
