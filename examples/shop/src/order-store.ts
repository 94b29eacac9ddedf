import type { Sql } from '@gatehouse/core';

/** The orders service's data, in its own schema `shop_orders`. */
export const ordersMigrations = {
  component: 'shop_orders',
  dir: new URL('../migrations/orders/', import.meta.url),
};

export interface NewOrder {
  userId: string;
  productId: number;
  productName: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  id: number;
  productId: number;
  productName: string;
  quantity: number;
  unitPriceCents: number;
  createdAt: string;
}

interface Row {
  id: number;
  product_id: number;
  product_name: string;
  quantity: number;
  unit_price_cents: number;
  created_at: Date;
}

const view = (r: Row): Order => ({
  id: r.id,
  productId: r.product_id,
  productName: r.product_name,
  quantity: r.quantity,
  unitPriceCents: r.unit_price_cents,
  createdAt: r.created_at.toISOString(),
});

export function createOrderStore(sql: Sql) {
  return {
    async add(order: NewOrder, addedBy: string): Promise<Order> {
      const rows = await sql.query<Row>(
        `insert into shop_orders.orders (user_id, product_id, product_name, quantity, unit_price_cents, added_by)
         values ($1, $2, $3, $4, $5, $6) returning *`,
        [order.userId, order.productId, order.productName, order.quantity, order.unitPriceCents, addedBy],
      );
      return view(rows[0]!);
    },
    /** One user's orders, newest first (at most 100). */
    async listFor(userId: string): Promise<Order[]> {
      const rows = await sql.query<Row>(
        'select * from shop_orders.orders where user_id = $1 order by id desc limit 100',
        [userId],
      );
      return rows.map(view);
    },
  };
}

export type OrderStore = ReturnType<typeof createOrderStore>;
