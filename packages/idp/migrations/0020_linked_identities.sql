-- Upstream identities (brokering) linked to local accounts: any of them signs in to the account.

create table idp_linked_identities (
  provider text not null,
  -- The upstream's stable id of the person (`sub`, or the mapped subject claim).
  subject text not null,
  user_id uuid not null references idp_users (id) on delete cascade,
  -- What the upstream called the person when linked, shown on the account page.
  upstream_username text,
  linked_at timestamptz not null default now(),
  last_login_at timestamptz,
  primary key (provider, subject)
);

-- One identity per provider and account: linking a second one of the same provider is refused.
create unique index idp_linked_identities_user on idp_linked_identities (user_id, provider);
