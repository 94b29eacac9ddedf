/**
 * Who may call whom in the shop. The orders service's internal add endpoint takes only a service
 * token meant for it (audience), carrying the right to add orders (scope), issued to the products
 * service (client). An absolute URI because resource indicators are (RFC 8707 §2).
 */
export const ORDERS_AUDIENCE = 'urn:gatehouse:orders';
export const ORDERS_ADD_SCOPE = 'orders:add';
export const PRODUCTS_CLIENT_ID = 'shop-products';

/** Development only: public by design, refused in production (set SHOP_PRODUCTS_CLIENT_SECRET). */
export const DEV_PRODUCTS_CLIENT_SECRET = 'shop-products-development-secret';
