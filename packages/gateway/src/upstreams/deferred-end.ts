import type { ServerResponse } from 'node:http';

/**
 * Proxied answers are ended (and so written to their clients) together, in the check phase of the
 * event-loop turn whose poll phase received them, instead of one by one as each upstream answer is
 * parsed.
 *
 * Why: on loopback most of a socket write's cost is waking the reader (its thread sleeps in
 * epoll_wait; waking it on another core costs an inter-processor interrupt, which a VM pays dearly).
 * Written one by one, between the parsing of the next upstream answers, each answer wakes a
 * client that went back to sleep after the previous one: a perf profile of the gateway put 14 % of
 * its CPU in those wake-ups. Written back to back, the first write wakes the client and the next
 * ones find it awake. undici writes the requests to upstreams in the check phase for its own
 * reasons (idle-socket validation), which is why their writes already cost less. bench/gateway's
 * pairs measure the difference (bench/gateway/README.md).
 *
 * The answer waits for at most the rest of the current poll phase; nothing else changes: the same
 * `end` call, on the same response, in the order the upstream answers completed.
 */
let pending: (ServerResponse | string | undefined)[] = [];

/** `res.end(body, 'latin1')` (or `res.end()` without a body) in this turn's check phase. */
export function endInCheckPhase(res: ServerResponse, body?: string): void {
  if (pending.length === 0) setImmediate(endPending);
  pending.push(res, body);
}

function endPending(): void {
  const batch = pending;
  pending = [];
  for (let i = 0; i < batch.length; i += 2) {
    const res = batch[i] as ServerResponse;
    const body = batch[i + 1] as string | undefined;
    try {
      if (body === undefined) res.end();
      else res.end(body, 'latin1');
    } catch (err) {
      // Called in the parser's callback this would have failed that one request: it still fails
      // only that one, by cutting its connection, and never the answers ended after it.
      res.destroy(err as Error);
    }
  }
}
