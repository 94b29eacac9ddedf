import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '@gatehouse/core';
import type { Dispatcher } from 'undici';
import { endInCheckPhase } from './deferred-end.ts';

/**
 * One attempt to proxy a request to one replica, on undici's low-level `dispatch`.
 *
 * Why undici and not `http.request` with a keep-alive agent: on this 2-core machine, wrk -c50
 * through a minimal proxy gave about 17–19k req/s with `Pool.dispatch` against 7–16k req/s with
 * `http.request` + `http.Agent({ keepAlive: true })` (same upstream, same headers). `dispatch` also
 * tells us exactly when the first response byte arrived, which decides whether a retry is safe.
 *
 * Bodies stream both ways with backpressure; nothing is buffered.
 */

/** GW_BAD_REQUEST: undici refused what the client sent (e.g. a body shorter than its Content-Length); not the replica's fault. */
export type FailureCode =
  | 'GW_UPSTREAM_UNAVAILABLE'
  | 'GW_UPSTREAM_TIMEOUT'
  | 'GW_BAD_GATEWAY'
  | 'GW_BAD_REQUEST';

export type AttemptOutcome =
  /** The upstream answered and its answer went to the client (`broken` when it was cut midway). */
  | { kind: 'response'; status: number; broken: boolean }
  /**
   * Nothing reached the client: the caller may retry or answer with `code`. `written`: the request
   * was handed to a connection to be written, so the upstream may have received it; when false
   * (connection refused, or closed before the request's turn) it never left the gateway.
   */
  | { kind: 'failed'; code: FailureCode; cause: Error; bodySent: boolean; written: boolean }
  /** The client went away before the answer was complete. */
  | { kind: 'client-gone' };

export interface AttemptOptions {
  path: string;
  headers: OutgoingHttpHeaders;
  /** Added to the answer's headers unless the upstream sent a header of that name. */
  responseHeaders?: Readonly<Record<string, string>> | undefined;
  /** Time to the response headers, and the longest pause between two body chunks. */
  timeoutMs: number;
  /** Send `req` as the request body (false for requests that declare none). */
  streamBody: boolean;
}

/**
 * Largest body sent as a string in one write with the header. The string costs two copies of the
 * body (to a string, then joined to the header), which a small body pays back in the write path it
 * saves; measured with the bench's 11-byte body only, so the limit stays low.
 */
const ONE_WRITE_MAX = 4096;

// A connect timeout is not among them: nothing was sent, so it is "unavailable" and may be retried elsewhere.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const PROTOCOL_CODES = new Set(['HPE_INVALID_CONSTANT', 'UND_ERR_RESPONSE_STATUS_CODE', 'UND_ERR_INFO']);
const REQUEST_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

function classify(err: Error & { code?: string }): FailureCode {
  const code = err.code ?? '';
  if (TIMEOUT_CODES.has(code)) return 'GW_UPSTREAM_TIMEOUT';
  if (REQUEST_CODES.has(code)) return 'GW_BAD_REQUEST';
  if (PROTOCOL_CODES.has(code) || code.startsWith('HPE_')) return 'GW_BAD_GATEWAY';
  return 'GW_UPSTREAM_UNAVAILABLE';
}

/** Does the client's request carry a body we must stream? */
export function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

class TimeoutError extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

class ClientGoneError extends Error {
  readonly code = 'GW_CLIENT_GONE';
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #resolve: (outcome: AttemptOutcome) => void;
  readonly #responseHeaders: Readonly<Record<string, string>> | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #status = 0;
  /** The upstream's Content-Length, or -1 when it sent none. */
  #length = -1;
  /** The client's answer was ended with the body's only chunk (see onResponseData). */
  #ended = false;
  #started = false;
  #done = false;
  #abortReason: Error | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    timeoutMs: number,
    resolve: (o: AttemptOutcome) => void,
    responseHeaders?: Readonly<Record<string, string>>,
  ) {
    this.#req = req;
    this.#res = res;
    this.#resolve = resolve;
    this.#responseHeaders = responseHeaders;
    this.#timer = setTimeout(() => this.#onTimeout(), timeoutMs);
    // `on`, not `once`: #finish removes it, and #onClientClose ignores a call after #done.
    res.on('close', this.#onClientClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, not forwarded
    if (this.#done) {
      controller.abort(this.#abortReason ?? new ClientGoneError('finished'));
      return;
    }
    clearTimeout(this.#timer);
    this.#started = true;
    this.#status = statusCode;
    const length = headers['content-length'];
    if (typeof length === 'string') this.#length = Number(length);
    this.#res.writeHead(statusCode, endToEndHeaders(headers, this.#responseHeaders));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#done || this.#ended) return;
    const res = this.#res;
    if (chunk.length === this.#length && chunk.length <= ONE_WRITE_MAX) {
      // The whole body in one chunk: as a latin1 string (the same bytes), node:http appends it to
      // the header string and sends both with one write from `end`, instead of corking the socket
      // until the next tick and then a writev of two buffers. The system call costs the same; the
      // JavaScript around it (cork, tick, write requests, buffer list) is what this saves. Ended
      // with this turn's other answers (deferred-end.ts).
      this.#ended = true;
      endInCheckPhase(res, chunk.toString('latin1'));
      return;
    }
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#done) return;
    if (!this.#ended) endInCheckPhase(this.#res);
    this.#finish({ kind: 'response', status: this.#status, broken: false });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    if (this.#started) {
      // Headers are out: the only honest signal left is a cut connection.
      this.#res.destroy();
      this.#finish({ kind: 'response', status: this.#status, broken: true });
      return;
    }
    if (this.#clientGone()) {
      // The client cut its upload or its connection: the error is the client's, not the replica's.
      this.#finish({ kind: 'client-gone' });
      return;
    }
    this.#finish({
      kind: 'failed',
      code: classify(error),
      cause: error,
      bodySent: this.#req.readableDidRead,
      written: this.#controller !== undefined,
    });
  }

  #clientGone(): boolean {
    const req = this.#req;
    return req.socket?.destroyed === true || (req.destroyed && !req.complete);
  }

  #onTimeout(): void {
    if (this.#done || this.#started) return;
    const err = new TimeoutError('upstream did not answer in time');
    this.#abortReason = err;
    this.#controller?.abort(err);
    // Resolve now even when the request still waits for a connection: the client gets its 504.
    this.#finish({
      kind: 'failed',
      code: 'GW_UPSTREAM_TIMEOUT',
      cause: err,
      bodySent: this.#req.readableDidRead,
      written: this.#controller !== undefined,
    });
  }

  #onClientClose = (): void => {
    if (this.#done || this.#res.writableFinished) return;
    const err = new ClientGoneError('client closed the connection');
    this.#abortReason = err;
    this.#controller?.abort(err);
    this.#finish({ kind: 'client-gone' });
  };

  #finish(outcome: AttemptOutcome): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#res.off('close', this.#onClientClose);
    this.#resolve(outcome);
  }
}

/**
 * The upstream's response headers minus hop-by-hop ones and any the `Connection` header names, then
 * `extra` for names not among them, as node:http's flat `[name, value, ...]` list (no object built
 * and walked again by `writeHead`).
 */
function endToEndHeaders(
  headers: Record<string, string | string[] | undefined>,
  extra: Readonly<Record<string, string>> | undefined,
): (string | string[])[] {
  const named = headers.connection;
  const dropped =
    named === undefined
      ? undefined
      : new Set(
          (Array.isArray(named) ? named.join(',') : named)
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter(Boolean),
        );
  const kept = (name: string) =>
    headers[name] !== undefined && !HOP_BY_HOP_HEADERS.has(name) && !dropped?.has(name);
  const out: (string | string[])[] = [];
  for (const name in headers) if (kept(name)) out.push(name, headers[name]!);
  if (extra !== undefined) for (const name in extra) if (!kept(name)) out.push(name, extra[name]!);
  return out;
}

/** Send one attempt through `dispatcher` and stream its answer into `res`. Never rejects. */
export function proxyAttempt(
  dispatcher: Dispatcher,
  req: IncomingMessage,
  res: ServerResponse,
  options: AttemptOptions,
): Promise<AttemptOutcome> {
  let headers = options.headers;
  if (headers.expect !== undefined) {
    // node:http already answered `100 Continue` to the client; undici refuses the header, so it stops here.
    const { expect: _expect, ...rest } = headers;
    headers = rest;
  }
  return new Promise<AttemptOutcome>((resolve) => {
    const handler = new ForwardHandler(req, res, options.timeoutMs, resolve, options.responseHeaders);
    try {
      dispatcher.dispatch(
        {
          path: options.path,
          method: req.method ?? 'GET',
          headers: headers as Record<string, string | string[]>,
          body: options.streamBody ? req : null,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        },
        handler,
      );
    } catch (err) {
      // Invalid options (a header undici refuses): nothing was sent.
      handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, err as Error);
    }
  });
}
