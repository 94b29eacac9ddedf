import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { readJsonObject as readJsonFields } from '../../shared/src/json-object.ts';
import { shopErrors } from './errors.ts';

/** Refuse bodies over `maxSize` bytes before reading them (413 SHOP_BODY_TOO_LARGE). */
export function limitBody(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw shopErrors.create('SHOP_BODY_TOO_LARGE');
    },
  });
}

/** The body as a JSON object whose keys are all in `allowed`; anything else is 400 SHOP_BAD_REQUEST. */
export function readJsonObject(c: Context, allowed: readonly string[]): Promise<Record<string, unknown>> {
  return readJsonFields(c, allowed, (message) => shopErrors.create('SHOP_BAD_REQUEST', message));
}

/** An integer in [min, max], or the default when absent. */
export function intField(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  const v = body[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw shopErrors.create('SHOP_BAD_REQUEST', `Field ${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A non-empty string of at most `max` characters. */
export function stringField(body: Record<string, unknown>, name: string, max: number): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '' || v.length > max) {
    throw shopErrors.create('SHOP_BAD_REQUEST', `Field ${name} must be a string of 1 to ${max} characters`);
  }
  return v;
}
