import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { type HealthState, handleHealth } from './health.ts';
import { serveMetrics } from './metrics.ts';
import { requestContext } from './request-context.ts';
import { requestIdOf } from './request-id.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Put the operations endpoints of a process in front of its handler: `/health/live`,
 * `/health/ready` (ready only when every check answers and the process is not draining) and
 * `/metrics` (Prometheus). Used by the processes that do not sit behind their own router (the
 * identity provider's port, the demo service); the gateway serves the same under `/_gatehouse/`.
 */
export function withOpsEndpoints(handler: Handler, options: HealthState & { metrics?: Registry }): Handler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/health/') && handleHealth(req, res, path, options)) return;
    if (path === '/metrics' && options.metrics && (req.method === 'GET' || req.method === 'HEAD')) {
      serveMetrics(options.metrics, req, res).catch(() => res.destroy());
      return;
    }
    // Behind the gateway, which sets a well-formed X-Request-Id; anything else gets a new id.
    const requestId = requestIdOf(req, true);
    res.setHeader('x-request-id', requestId);
    return requestContext.run({ requestId }, () => handler(req, res));
  };
}
