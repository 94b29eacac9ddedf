import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Every refusal the PartsCoder services answer with, by stable code. Bodies have the Gatehouse shape
 * `{ "error": CODE, "message": ... }`; authentication refusals come from the sdk (`SDK_*`).
 */
export const partscoderErrors = {
  PC_NOT_FOUND: { status: 404, message: 'Not found' },
  PC_BODY_INVALID: { status: 400, message: 'The request body is not valid' },
  PC_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  PC_ID_INVALID: { status: 400, message: 'The id in the path is not valid' },
  PC_PART_NUMBER_TAKEN: { status: 409, message: 'A part with this number exists already' },
  PC_NOT_OWNER: { status: 403, message: 'Only the owner or an admin may change this survey' },
  PC_UNAVAILABLE: { status: 503, message: 'The service cannot reach its database' },
  PC_INTERNAL: { status: 500, message: 'Something went wrong' },
} as const satisfies Record<string, { status: ContentfulStatusCode; message: string }>;

export type PartscoderErrorCode = keyof typeof partscoderErrors;

export function refuse(c: Context, code: PartscoderErrorCode, message?: string): Response {
  const spec = partscoderErrors[code];
  return c.json({ error: code, message: message ?? spec.message }, spec.status);
}
