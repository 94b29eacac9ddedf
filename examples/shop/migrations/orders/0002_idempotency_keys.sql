-- Adding an order is idempotent: the caller names each purchase with a key, and a repeat of that
-- key (a retry after a connection lost before the answer) finds the order already stored instead
-- of adding a second one. Keys are per caller (`added_by`), so one service cannot see or take
-- another's. Orders added before this migration have no key. Idempotent like 0001_orders.sql.
alter table shop_orders.orders
  add column if not exists idempotency_key text
    check (idempotency_key ~ '^[A-Za-z0-9_-]{1,64}$');

create unique index if not exists orders_by_idempotency_key
  on shop_orders.orders (added_by, idempotency_key);
