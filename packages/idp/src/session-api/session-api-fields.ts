import type { IncomingMessage } from 'node:http';
import { readFields } from '@gatehouse/core';
import { idpErrors } from '../errors.ts';

/** What a session-API route accepts in its body: exactly these fields, each within its length. */
export interface FieldRules {
  /** Maximum body size in bytes. */
  bodyLimit: number;
  /** Maximum length per field name; a field not listed may be 256 characters. */
  limits: Readonly<Record<string, number>>;
}

/**
 * The body of a session-API request (JSON or form-encoded), refused with a stable code when it names
 * a field outside `allowed`, a field is longer than its limit, or one of `required` is missing or empty.
 */
export async function readAllowedFields(
  req: IncomingMessage,
  rules: FieldRules,
  allowed: readonly string[],
  required: readonly string[] = allowed,
): Promise<Record<string, string>> {
  const body = await readFields(req, rules.bodyLimit);
  for (const [name, value] of Object.entries(body)) {
    if (!allowed.includes(name))
      throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown field ${name.slice(0, 40)}`);
    if (value.length > (rules.limits[name] ?? 256))
      throw idpErrors.create('IDP_FIELD_TOO_LONG', `Field ${name} is too long`);
  }
  for (const name of required) {
    if (!body[name]) throw idpErrors.create('IDP_FIELD_MISSING', `Field ${name} is required`);
  }
  return body;
}
