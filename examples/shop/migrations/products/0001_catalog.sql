-- The products service's own schema (database per service): nothing else reads or writes it.
-- Idempotent: the migration record lives in the connection's current schema, the tables in this
-- fixed one, so a run under another search_path (tests, benchmarks) must find them in place.
create schema if not exists shop_products;

create table if not exists shop_products.products (
  id integer primary key,
  name text not null,
  description text not null,
  price_cents integer not null check (price_cents >= 0),
  -- Admin-only fields: served by GET /products/admin, never by GET /products.
  supplier text not null,
  cost_cents integer not null check (cost_cents >= 0)
);

insert into shop_products.products (id, name, description, price_cents, supplier, cost_cents) values
  (1, 'Mechanical keyboard', 'Tenkeyless, brown switches', 8900, 'Keyworks Ltd', 5200),
  (2, 'Wireless mouse', 'Ergonomic, USB-C charging', 3900, 'Pointer & Co', 1800),
  (3, 'USB-C hub', 'Seven ports, 100 W pass-through', 4900, 'Portside GmbH', 2300),
  (4, '27-inch monitor', '2560x1440, 144 Hz', 32900, 'Panelview Inc', 24100),
  (5, 'Laptop stand', 'Aluminium, adjustable height', 2900, 'Keyworks Ltd', 1100)
on conflict (id) do nothing;
