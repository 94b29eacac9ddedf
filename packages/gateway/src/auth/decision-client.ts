import type { Logger } from '@gatehouse/core';
import { request } from 'undici';
import { gatewayErrors } from '../errors.ts';

/**
 * Client of the permission decision endpoint: `POST <url>` with `{ subject, relation, object }`,
 * answered `{ "allowed": true | false }`.
 * - Answers (allowed and denied alike) are cached for `cacheTtlMs`; identical concurrent questions
 *   share one call.
 * - Fails closed: no answer, a non-200 status or a body other than `{ allowed: boolean }` is
 *   503 GW_DECISION_UNAVAILABLE, never an allow. 503 rather than 403 because the caller may be
 *   entitled; the request can be retried, and a denial that is really an outage would mislead.
 */
export interface DecisionQuery {
  subject: string;
  relation: string;
  object: string;
}

export interface DecisionClient {
  check(q: DecisionQuery): Promise<boolean>;
}

export interface DecisionClientOptions {
  url: string;
  cacheTtlMs: number;
  timeoutMs: number;
  logger: Logger;
  /** Cached answers kept at most, oldest dropped first. */
  maxEntries?: number;
}

export function createDecisionClient(options: DecisionClientOptions): DecisionClient {
  const cache = new Map<string, { allowed: boolean; until: number }>();
  const pending = new Map<string, Promise<boolean>>();
  const maxEntries = options.maxEntries ?? 10_000;

  async function ask(q: DecisionQuery): Promise<boolean> {
    let status: number;
    let body: unknown;
    try {
      const res = await request(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(q),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = res.statusCode;
      body = status === 200 ? await res.body.json() : await res.body.dump();
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'decision endpoint did not answer');
      throw gatewayErrors.create('GW_DECISION_UNAVAILABLE', undefined, { cause: err });
    }
    const allowed = (body as { allowed?: unknown } | null)?.allowed;
    if (status !== 200 || typeof allowed !== 'boolean') {
      options.logger.warn({ status }, 'decision endpoint gave an unusable answer');
      throw gatewayErrors.create('GW_DECISION_UNAVAILABLE');
    }
    return allowed;
  }

  return {
    async check(q) {
      const key = `${q.subject}\u0000${q.relation}\u0000${q.object}`;
      const hit = cache.get(key);
      if (hit && hit.until > Date.now()) return hit.allowed;
      const inFlight = pending.get(key);
      if (inFlight) return inFlight;
      const p = ask(q).then((allowed) => {
        if (options.cacheTtlMs > 0) {
          cache.delete(key);
          cache.set(key, { allowed, until: Date.now() + options.cacheTtlMs });
          if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
        }
        return allowed;
      });
      pending.set(key, p);
      try {
        return await p;
      } finally {
        pending.delete(key);
      }
    },
  };
}
