-- Accounts that sign in with a directory (LDAP): no local password hash, a link to the entry.

alter table idp_users alter column password_hash drop not null;

create table idp_directory_accounts (
  user_id uuid primary key references idp_users (id) on delete cascade,
  -- Which kind of directory the account comes from ('ldap').
  source text not null,
  dn text not null,
  -- The DN lower-cased without spaces around separators: how entries are matched.
  dn_key text not null,
  -- entryUUID when the directory keeps one: it survives a rename of the entry.
  external_id text,
  display_name text,
  -- Disabled because the entry was removed or disabled (a sync or login re-enables it when it is back);
  -- an account an admin disabled is never re-enabled by the directory.
  disabled_by_directory boolean not null default false,
  imported_at timestamptz not null default now(),
  synced_at timestamptz not null default now()
);

create unique index idp_directory_accounts_dn on idp_directory_accounts (source, dn_key);
create unique index idp_directory_accounts_external_id on idp_directory_accounts (source, external_id)
  where external_id is not null;
