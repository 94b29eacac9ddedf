/** A response with a status the step did not expect. */
export class UnexpectedStatusError extends Error {
  readonly status: number;
  constructor(status: number, method: string, path: string) {
    super(`${method} ${path} answered ${status}`);
    this.name = 'UnexpectedStatusError';
    this.status = status;
  }
}

/** A step that could not go on for a reason of its own (no product to buy, no code in a redirect). */
export class StepFailedError extends Error {
  readonly kind: string;
  constructor(kind: string, message = kind) {
    super(message);
    this.name = 'StepFailedError';
    this.kind = kind;
  }
}

/**
 * A short, stable label for a failed step, used to group errors in the report: `HTTP 503`,
 * `ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, or a step's own kind.
 */
export function errorKind(err: unknown): string {
  if (err instanceof UnexpectedStatusError) return `HTTP ${err.status}`;
  if (err instanceof StepFailedError) return err.kind;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    // AggregateError from a connect to several addresses (IPv4 + IPv6 for localhost).
    if (err instanceof AggregateError) {
      const inner = err.errors.find((e) => typeof (e as { code?: unknown }).code === 'string') as {
        code: string;
      };
      if (inner) return inner.code;
    }
    return err.name;
  }
  return 'error';
}
