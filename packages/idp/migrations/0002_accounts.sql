-- Accounts, roles and groups, first-party sessions and audit events of the identity provider.

create table idp_users (
  id uuid primary key,
  -- As typed after NFKC (shown back to people); username_key is the lookup and uniqueness key.
  username text not null,
  username_key text not null unique,
  email text,
  email_key text unique,
  password_hash text not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  password_changed_at timestamptz not null default now()
);

create table idp_roles (
  name text primary key,
  description text not null default '',
  created_at timestamptz not null default now()
);

create table idp_groups (
  name text primary key,
  description text not null default '',
  created_at timestamptz not null default now()
);

create table idp_user_roles (
  user_id uuid not null references idp_users (id) on delete cascade,
  role text not null references idp_roles (name) on delete cascade,
  primary key (user_id, role)
);

create table idp_group_roles (
  group_name text not null references idp_groups (name) on delete cascade,
  role text not null references idp_roles (name) on delete cascade,
  primary key (group_name, role)
);

create table idp_group_members (
  group_name text not null references idp_groups (name) on delete cascade,
  user_id uuid not null references idp_users (id) on delete cascade,
  primary key (group_name, user_id)
);

create index idp_group_members_user on idp_group_members (user_id);

-- First-party sessions (the gatehouse_session cookie). id is the token's sid.
create table idp_sessions (
  id text primary key,
  user_id uuid not null references idp_users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz,
  end_reason text,
  source_ip text,
  user_agent text
);

create index idp_sessions_user on idp_sessions (user_id);

create table idp_audit_events (
  id bigserial primary key,
  type text not null,
  actor text,
  subject text,
  client_id text,
  source_ip text,
  at timestamptz not null default now(),
  details jsonb not null default '{}'::jsonb
);

create index idp_audit_events_at on idp_audit_events (at desc);
create index idp_audit_events_type_at on idp_audit_events (type, at desc);
create index idp_audit_events_subject_at on idp_audit_events (subject, at desc);
