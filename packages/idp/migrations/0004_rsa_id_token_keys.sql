-- RSA keys for RS256 ID tokens live beside the keys of the configured algorithm, with their own
-- active key: one active key per family (RSA, and everything else) instead of one in all.

drop index idp_signing_keys_one_active;
create unique index idp_signing_keys_one_active_per_family on idp_signing_keys ((alg = 'RS256'))
  where state = 'active';
