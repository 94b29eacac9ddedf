import type { Sql } from '@gatehouse/core';
import { shopErrors } from './errors.ts';

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

export interface AddedOrder {
  order: Order;
  /** The key was seen before: this is the order stored then, and nothing was added now. */
  repeated: boolean;
}

interface Row {
  id: number;
  user_id: string;
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

const sameOrder = (r: Row, o: NewOrder): boolean =>
  r.user_id === o.userId &&
  r.product_id === o.productId &&
  r.product_name === o.productName &&
  r.quantity === o.quantity &&
  r.unit_price_cents === o.unitPriceCents;

export function createOrderStore(sql: Sql) {
  return {
    /**
     * Adds the order once per `(addedBy, idempotencyKey)`: a repeat of the key answers the order
     * stored the first time, and a repeat naming a different order is 422
     * SHOP_IDEMPOTENCY_KEY_REUSED (nothing stored). Two concurrent calls with one key add one order:
     * the second insert waits on the unique index for the first to commit, then finds its row.
     */
    async add(order: NewOrder, addedBy: string, idempotencyKey: string): Promise<AddedOrder> {
      const inserted = await sql.query<Row>(
        `insert into shop_orders.orders
           (user_id, product_id, product_name, quantity, unit_price_cents, added_by, idempotency_key)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (added_by, idempotency_key) do nothing
         returning *`,
        [
          order.userId,
          order.productId,
          order.productName,
          order.quantity,
          order.unitPriceCents,
          addedBy,
          idempotencyKey,
        ],
      );
      if (inserted[0]) return { order: view(inserted[0]), repeated: false };
      const stored = await sql.query<Row>(
        'select * from shop_orders.orders where added_by = $1 and idempotency_key = $2',
        [addedBy, idempotencyKey],
      );
      const row = stored[0];
      if (!row) throw new Error('an order conflicted on its idempotency key but cannot be found');
      if (!sameOrder(row, order)) throw shopErrors.create('SHOP_IDEMPOTENCY_KEY_REUSED');
      return { order: view(row), repeated: true };
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
