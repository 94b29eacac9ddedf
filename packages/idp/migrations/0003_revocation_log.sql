-- The revocation log: every revocation gets an increasing sequence number, so gateways and SDK
-- services catch up from the last one they saw (the durable feed; pub/sub is only the fast path).
-- Kinds `client` and `sub` revoke every token of a client or subject issued before `not_before`.

create sequence idp_revocations_seq;

alter table idp_revocations add column seq bigint not null default nextval('idp_revocations_seq');
alter table idp_revocations add column not_before timestamptz;
alter table idp_revocations drop constraint idp_revocations_kind_check;
alter table idp_revocations add constraint idp_revocations_kind_check
  check (kind in ('jti', 'sid', 'client', 'sub'));
alter table idp_revocations add constraint idp_revocations_not_before_check
  check ((kind in ('client', 'sub')) = (not_before is not null));

create index idp_revocations_seq_order on idp_revocations (seq);
create index idp_revocations_revoked_at on idp_revocations (revoked_at);
