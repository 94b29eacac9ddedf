-- A client can be disabled (admin API) without being deleted: a disabled client is unknown to the
-- provider (no grant, no token, no introspection) until it is enabled again.

alter table idp_clients add column enabled boolean not null default true;
