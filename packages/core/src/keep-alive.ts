import type { Server } from 'node:http';

/**
 * How long a server keeps an idle kept-alive connection open. A load balancer in front reuses its
 * idle connections until its own idle timeout (nginx's upstream `keepalive_timeout` and the common
 * cloud load balancers: 60 s); a server that closes first (Node's default is 5 s) races the balancer's
 * next request on that connection, which is then lost: the balancer answers 502, and does not send a
 * POST elsewhere. The server must be the side that closes last.
 */
export const KEEP_ALIVE_IDLE_MS = 65_000;

/** Keep idle connections past the idle timeouts of the load balancers in front (see KEEP_ALIVE_IDLE_MS). */
export function outlastBalancerIdleTimeouts(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_IDLE_MS;
}
