-- The beep service's own schema (database per service). Who may read or write a channel is not
-- here: it lives in the permission store (model/beep.fga). Idempotent: every replica runs it.
create schema if not exists beep;

create table if not exists beep.messages (
  id bigint generated always as identity primary key,
  channel_id text not null,
  author text not null,
  body text not null check (length(body) between 1 and 2000),
  created_at timestamptz not null default now()
);

create index if not exists messages_by_channel on beep.messages (channel_id, id);
