-- The permission engine's storage: stores, immutable authorization models, relationship tuples and
-- their change feed. Tuples are keyed by object first (a check reads object#relation) and indexed by
-- user (reverse lookups: ListObjects, ListUsers, Read by user).
create table authz_stores (
  id text primary key,
  name text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table authz_models (
  store_id text not null references authz_stores (id) on delete cascade,
  id text not null,
  schema_version text not null,
  model jsonb not null,
  created_at timestamptz not null default now(),
  primary key (store_id, id)
);

create table authz_tuples (
  store_id text not null references authz_stores (id) on delete cascade,
  object_type text not null,
  object_id text not null,
  relation text not null,
  user_type text not null,
  user_id text not null,
  -- '' for an object or a wildcard; the relation of a userset (group:eng#member) otherwise
  user_relation text not null default '',
  condition_name text,
  condition_context jsonb,
  inserted_at timestamptz not null default now(),
  primary key (store_id, object_type, object_id, relation, user_type, user_id, user_relation)
);

-- ListObjects walks up from a user, and Read filters by user: the tuples naming one user.
create index authz_tuples_by_user on authz_tuples (store_id, user_type, user_id, user_relation, object_type, relation);

-- The change feed: one row per tuple written or deleted, in commit order within a store (writes to a
-- store take a transaction lock on it, so their sequence numbers commit in order).
create table authz_changes (
  seq bigint generated always as identity primary key,
  store_id text not null references authz_stores (id) on delete cascade,
  operation text not null check (operation in ('write', 'delete')),
  object_type text not null,
  object_id text not null,
  relation text not null,
  user_type text not null,
  user_id text not null,
  user_relation text not null default '',
  condition_name text,
  condition_context jsonb,
  changed_at timestamptz not null default now()
);

create index authz_changes_by_store on authz_changes (store_id, seq);
create index authz_changes_by_store_type on authz_changes (store_id, object_type, seq);
