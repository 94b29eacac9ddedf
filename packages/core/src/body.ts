import type { IncomingMessage } from 'node:http';
import { coreErrors } from './errors.ts';

/**
 * Read a request body up to `limit` bytes. A larger body (by Content-Length or as it streams)
 * fails with GH_BODY_TOO_LARGE before it is buffered.
 */
export async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw coreErrors.create('GH_BODY_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw coreErrors.create('GH_BODY_TOO_LARGE');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The request's media type, lower-case and without parameters (`''` when there is no Content-Type). */
export function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parse a JSON or `application/x-www-form-urlencoded` body into a flat record of strings.
 * Repeated form keys and non-string JSON values are rejected: callers get exactly one string per field.
 */
export async function readFields(req: IncomingMessage, limit = 16 * 1024): Promise<Record<string, string>> {
  const type = mediaTypeOf(req);
  const raw = await readBody(req, limit);
  const out: Record<string, string> = Object.create(null);
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw coreErrors.create('GH_BAD_REQUEST', 'Body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw coreErrors.create('GH_BAD_REQUEST', 'Body must be a JSON object');
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw coreErrors.create('GH_BAD_REQUEST', `Field ${k} must be a string`);
      out[k] = v;
    }
    return out;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const params = new URLSearchParams(raw.toString('utf8'));
    for (const [k, v] of params) {
      if (k in out) throw coreErrors.create('GH_BAD_REQUEST', `Field ${k} is repeated`);
      out[k] = v;
    }
    return out;
  }
  throw coreErrors.create(
    'GH_UNSUPPORTED_MEDIA_TYPE',
    'Send application/json or application/x-www-form-urlencoded',
  );
}
