import { shopErrors } from './errors.ts';

/**
 * The request header that names one state-changing request so that a retry of it changes nothing
 * more (in the spirit of the IETF draft "The Idempotency-Key HTTP Header Field"). The value is sent
 * bare, not as a quoted structured-field string; the products service sends a random UUID.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Short enough to index, and plain characters only: the key is stored and may be logged. */
const KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The key of a request that must carry one: absent is 400 SHOP_IDEMPOTENCY_KEY_MISSING, anything
 * but 1 to 64 of `A-Z a-z 0-9 - _` (empty, too long, other characters, the header repeated) is 400
 * SHOP_IDEMPOTENCY_KEY_INVALID.
 */
export function readIdempotencyKey(value: string | undefined): string {
  if (value === undefined) throw shopErrors.create('SHOP_IDEMPOTENCY_KEY_MISSING');
  if (!KEY.test(value)) throw shopErrors.create('SHOP_IDEMPOTENCY_KEY_INVALID');
  return value;
}
