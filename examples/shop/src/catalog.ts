import type { Sql } from '@gatehouse/core';

/** The products service's data, in its own schema `shop_products`. */
export const productsMigrations = {
  component: 'shop_products',
  dir: new URL('../migrations/products/', import.meta.url),
};

export interface Product {
  id: number;
  name: string;
  description: string;
  priceCents: number;
}

export interface AdminProduct extends Product {
  supplier: string;
  costCents: number;
}

interface Row {
  id: number;
  name: string;
  description: string;
  price_cents: number;
  supplier: string;
  cost_cents: number;
}

const publicView = (r: Row): Product => ({
  id: r.id,
  name: r.name,
  description: r.description,
  priceCents: r.price_cents,
});

export function createCatalog(sql: Sql) {
  return {
    async list(): Promise<Product[]> {
      return (await sql.query<Row>('select * from shop_products.products order by id')).map(publicView);
    },
    async listForAdmin(): Promise<AdminProduct[]> {
      const rows = await sql.query<Row>('select * from shop_products.products order by id');
      return rows.map((r) => ({ ...publicView(r), supplier: r.supplier, costCents: r.cost_cents }));
    },
    async find(id: number): Promise<Product | undefined> {
      const rows = await sql.query<Row>('select * from shop_products.products where id = $1', [id]);
      return rows[0] ? publicView(rows[0]) : undefined;
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
