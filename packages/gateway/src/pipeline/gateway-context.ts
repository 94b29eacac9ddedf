import type { Logger, Registry, Tracing } from '@gatehouse/core';
import type { Verifier } from '@gatehouse/sdk';
import type { AssertionKey } from '../auth/assertion-key.ts';
import type { Bff } from '../bff/bff.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import type { RouteTable } from '../routing/route-table.ts';

/**
 * What the request pipeline reads from the gateway it runs in: built once by `createGateway`.
 * `table`, `verifier` and `draining` change at run time (reload, drain); a request reads each once,
 * when it needs it, so a swap mid-request never mixes two tables.
 */
export interface GatewayContext {
  table: RouteTable;
  verifier: Verifier;
  draining: boolean;
  readonly logger: Logger;
  /** Child loggers of `logger` for the access log and the decision audit (ops/). */
  readonly accessLogger: Logger;
  readonly auditLogger: Logger;
  readonly tracing: Tracing;
  readonly registry: Registry;
  readonly metrics: GatewayMetrics;
  /** Browser sessions (`gateway.bff`), when enabled. */
  readonly bff: Bff | undefined;
  /** The key that signs `X-Gatehouse-Assertion` (`gateway.assertion`), when enabled. */
  readonly assertionKey: AssertionKey | undefined;
  /** The `Strict-Transport-Security` value sent on answers over TLS, when configured. */
  readonly hsts: string | undefined;
  /** Readiness checks by name (`/_gatehouse/health/ready`). */
  readonly readiness: Record<string, () => Promise<void>>;
  /** Closes a retired table's pools once its last request has ended. */
  retire(table: RouteTable): Promise<void>;
}
