-- The permission service's audit trail: every change and refusal, and the sampled decisions, with the
-- caller (token subject and client), what was asked (the request body, cut when large) and the answer.
create table authz_audit_events (
  id bigserial primary key,
  kind text not null,
  operation text not null,
  caller_sub text,
  client_id text,
  store_id text,
  outcome text not null,
  reason text,
  status integer not null,
  at timestamptz not null default now(),
  request jsonb not null default '{}'::jsonb
);

create index authz_audit_events_at on authz_audit_events (at desc);
create index authz_audit_events_store_at on authz_audit_events (store_id, at desc);
create index authz_audit_events_caller_at on authz_audit_events (caller_sub, at desc);
