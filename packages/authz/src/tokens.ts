import { authzErrors } from './errors.ts';

/**
 * Opaque tokens handed to callers: continuation tokens (where the next page starts) and consistency
 * tokens (a store's change-feed position after a write). Both are base64url JSON bound to their store,
 * so a token from another store or another call is refused instead of silently misread.
 */
export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeContinuation<T>(
  token: string | undefined,
  scope: string,
  valid: (v: unknown) => v is T,
): T | undefined {
  if (token === undefined || token === '') return undefined;
  const decoded = decode(token);
  if (!decoded || typeof decoded !== 'object' || (decoded as { s?: unknown }).s !== scope) {
    throw authzErrors.create('AUTHZ_INVALID_CONTINUATION_TOKEN');
  }
  const value = (decoded as { v?: unknown }).v;
  if (!valid(value)) throw authzErrors.create('AUTHZ_INVALID_CONTINUATION_TOKEN');
  return value;
}

export function continuation(scope: string, value: unknown): string {
  return encodeToken({ s: scope, v: value });
}

export function consistencyToken(storeId: string, seq: number): string {
  return encodeToken({ store: storeId, seq });
}

/** The change-feed position a consistency token stands for; throws AUTHZ_INVALID_CONSISTENCY_TOKEN. */
export function decodeConsistencyToken(token: string, storeId: string): number {
  const decoded = decode(token) as { store?: unknown; seq?: unknown } | undefined;
  if (
    !decoded ||
    decoded.store !== storeId ||
    typeof decoded.seq !== 'number' ||
    !Number.isSafeInteger(decoded.seq) ||
    decoded.seq < 0
  ) {
    throw authzErrors.create('AUTHZ_INVALID_CONSISTENCY_TOKEN');
  }
  return decoded.seq;
}

function decode(token: string): unknown {
  if (typeof token !== 'string' || token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
