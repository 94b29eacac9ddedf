import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { CustomFetchOptions } from 'openid-client';
import { request } from 'undici';

/**
 * The HTTP client of openid-client's requests to an upstream (discovery, JWKS, the code exchange,
 * userinfo), given to it through its `customFetch` hook: undici's `request` with the answer
 * wrapped in a `Response`, instead of the global `fetch`. Both are undici; `fetch`'s WHATWG layer
 * (request objects, header guards, web streams for every body) costs several times the CPU of the
 * call itself, and the code exchange sits on every brokered login.
 *
 * What openid-client relies on is kept: no redirect is followed (it asks for `redirect: 'manual'`),
 * its abort signal is honoured, and a request that gets no answer rejects with a `TypeError`, as
 * `fetch` does (upstream.ts tells an unreachable upstream from a refused answer by it).
 */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

export async function upstreamFetch(url: string, options: CustomFetchOptions): Promise<Response> {
  const { body } = options;
  let answer: Awaited<ReturnType<typeof request>>;
  let bytes: ArrayBuffer;
  try {
    answer = await request(url, {
      method: options.method as 'GET',
      headers: options.headers,
      body:
        body === null || body === undefined
          ? undefined
          : body instanceof URLSearchParams
            ? body.toString()
            : body instanceof ArrayBuffer
              ? new Uint8Array(body)
              : body instanceof ReadableStream
                ? Readable.fromWeb(body as NodeReadableStream)
                : body,
      signal: options.signal,
    });
    bytes = await answer.body.arrayBuffer();
  } catch (cause) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new TypeError('fetch failed', { cause });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return new Response(NULL_BODY_STATUS.has(answer.statusCode) ? null : bytes, {
    status: answer.statusCode,
    headers,
  });
}
