import type { Context } from 'hono';

/**
 * The body as a JSON object whose keys are all in `allowed` (an unknown key is an error, not
 * ignored); an empty body is `{}`. Anything else is the example's own bad-request error, made by
 * `badRequest` with a message that says what was wrong.
 */
export async function readJsonObject(
  c: Context,
  allowed: readonly string[],
  badRequest: (message: string) => Error,
): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('The body must be a JSON object');
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw badRequest(`Unknown field ${key.slice(0, 40)}`);
  }
  return value as Record<string, unknown>;
}
