import type { Dispatcher } from 'undici';
import type { HealthCheckConfig } from '../contracts.ts';

/** What the checker reads and writes on each replica. */
export interface Probed {
  readonly url: string;
  /** A connection of its own: probes must not queue behind traffic, or a busy replica looks dead. */
  readonly probe: Dispatcher;
  /** Verdict of the active checks (starts true: a fresh gateway serves at once). */
  healthy: boolean;
  /** Consecutive good probes; the pool zeroes it on a passive ejection so re-admission needs fresh ones. */
  okStreak: number;
  failStreak: number;
}

export interface HealthChecker {
  /** Probe every replica once now (tests and start-up); resolves when all probes ended. */
  checkNow(): Promise<void>;
  stop(): void;
}

/**
 * Active health checks: GET `path` on every replica each `intervalMs`; 2xx (or with `expect:
 * answer`, any status below 500) within `timeoutMs` is a pass. `unhealthyThreshold` failures in a row take a replica out, `healthyThreshold` passes in a
 * row put it back. A replica is never probed twice at once.
 */
export function createHealthChecker<R extends Probed>(
  replicas: readonly R[],
  config: HealthCheckConfig,
  onProbe: (replica: R, ok: boolean, changed: boolean) => void,
): HealthChecker {
  const inFlight = new Set<R>();
  let stopped = false;

  const probe = async (replica: R): Promise<void> => {
    if (inFlight.has(replica) || stopped) return;
    inFlight.add(replica);
    let ok = false;
    try {
      const { statusCode, body } = await replica.probe.request({
        path: config.path,
        method: 'GET',
        headers: { 'user-agent': 'gatehouse-health-check' },
        signal: AbortSignal.timeout(config.timeoutMs),
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      });
      await body.dump();
      ok = config.expect === 'answer' ? statusCode < 500 : statusCode >= 200 && statusCode < 300;
    } catch {
      ok = false;
    } finally {
      inFlight.delete(replica);
    }
    if (stopped) return;
    let changed = false;
    if (ok) {
      replica.okStreak++;
      replica.failStreak = 0;
      if (!replica.healthy && replica.okStreak >= config.healthyThreshold) {
        replica.healthy = true;
        changed = true;
      }
    } else {
      replica.failStreak++;
      replica.okStreak = 0;
      if (replica.healthy && replica.failStreak >= config.unhealthyThreshold) {
        replica.healthy = false;
        changed = true;
      }
    }
    onProbe(replica, ok, changed);
  };

  const checkNow = async (): Promise<void> => {
    await Promise.all(replicas.map(probe));
  };

  const timer = setInterval(() => void checkNow(), config.intervalMs);
  timer.unref();

  return {
    checkNow,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
