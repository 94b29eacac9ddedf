import type { ServerResponse } from 'node:http';

/** One entry of an error catalog: the HTTP status it maps to and a default message. */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export type ErrorCatalog = Record<string, ErrorSpec>;

/**
 * An error with a stable code. The code never changes once published; the message may.
 * `expose` is false for 5xx errors: their message is replaced by the catalog default in responses.
 */
export class GatehouseError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;
  /** The catalog's message for this code: what a 5xx answer shows instead of `message`. */
  publicMessage: string | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.headers = options.headers;
  }

  toJSON(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

export interface ErrorFactory<C extends ErrorCatalog> {
  readonly catalog: C;
  create(
    code: keyof C & string,
    message?: string,
    options?: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown },
  ): GatehouseError;
  is(err: unknown, code: keyof C & string): err is GatehouseError;
}

/** Build a typed factory over one package's catalog: call sites throw by code. */
export function defineErrors<const C extends ErrorCatalog>(catalog: C): ErrorFactory<C> {
  return {
    catalog,
    create(code, message, options) {
      const spec = catalog[code];
      if (!spec) throw new Error(`unknown error code ${code}`);
      const err = new GatehouseError(code, spec.status, message ?? spec.message, options);
      err.publicMessage = spec.message;
      return err;
    },
    is(err, code): err is GatehouseError {
      return err instanceof GatehouseError && err.code === code;
    },
  };
}

/** Errors of the core package itself. */
export const coreErrors = defineErrors({
  GH_NOT_FOUND: { status: 404, message: 'No route matches this request' },
  GH_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  GH_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large' },
  GH_BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  GH_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  GH_INTERNAL: { status: 500, message: 'Internal error' },
  GH_NOT_READY: { status: 503, message: 'Not ready: storage does not answer' },
  GH_SHUTTING_DOWN: { status: 503, message: 'Shutting down' },
  GH_CONFIG_INVALID: { status: 500, message: 'Configuration is invalid' },
});

/** Anything shaped like a catalog error: GatehouseError, or the sdk's SdkError (which cannot import core). */
export interface HttpErrorLike {
  code: string;
  status: number;
  message: string;
  headers?: Record<string, string> | undefined;
}

export function isHttpErrorLike(err: unknown): err is HttpErrorLike {
  if (err === null || typeof err !== 'object') return false;
  const e = err as Record<string, unknown>;
  return typeof e.code === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 600;
}

/** Write a JSON error body `{ error, message }` with the error's status and headers. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e: HttpErrorLike = isHttpErrorLike(err)
    ? err
    : coreErrors.create('GH_INTERNAL', undefined, { cause: err });
  // A 5xx message may carry internals (driver errors, hostnames): answer with the catalog's text.
  const message =
    e.status < 500
      ? e.message
      : e instanceof GatehouseError
        ? (e.publicMessage ?? coreErrors.catalog.GH_INTERNAL.message)
        : e.status === 500
          ? coreErrors.catalog.GH_INTERNAL.message
          : e.message;
  const body = JSON.stringify({ error: e.code, message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(e.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...e.headers,
  });
  res.end(body);
}
