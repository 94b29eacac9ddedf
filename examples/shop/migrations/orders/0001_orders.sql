-- The orders service's own schema (database per service): nothing else reads or writes it.
-- Idempotent for the same reason as products/0001_catalog.sql.
create schema if not exists shop_orders;

create table if not exists shop_orders.orders (
  id bigint generated always as identity primary key,
  user_id text not null,
  product_id integer not null,
  -- A copy, not a reference: the products schema belongs to another service.
  product_name text not null,
  quantity integer not null check (quantity between 1 and 100),
  unit_price_cents integer not null check (unit_price_cents >= 0),
  -- The client id of the service token that added the order.
  added_by text not null,
  created_at timestamptz not null default now()
);

create index if not exists orders_by_user on shop_orders.orders (user_id, id);
