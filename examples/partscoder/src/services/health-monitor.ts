import type { Logger, Sql } from '@gatehouse/core';

/**
 * The dashboard's service registry and its health checks, in schema `mw_dashboard`: each registered
 * service is probed at `GET <url><healthPath>` every interval; a 2xx within the timeout is `up`,
 * anything else `down`. The last result is stored, so every dashboard replica shows the same state.
 */
export interface RegisteredService {
  name: string;
  url: string;
  healthPath: string;
  routes: string[];
}

export interface ServiceStatus {
  name: string;
  routes: string[];
  status: 'up' | 'down' | 'unknown';
  latencyMs: number | null;
  checkedAt: Date | null;
}

export interface HealthMonitor {
  register(service: RegisteredService): Promise<void>;
  list(): Promise<ServiceStatus[]>;
  /** Probe every registered service now. */
  checkNow(): Promise<void>;
  stop(): void;
}

export async function setupDashboard(sql: Sql): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query('create schema if not exists mw_dashboard');
    await tx.query(`create table if not exists mw_dashboard.services (
      name text primary key,
      url text not null,
      health_path text not null,
      routes jsonb not null,
      status text not null default 'unknown',
      latency_ms integer,
      checked_at timestamptz
    )`);
  });
}

export function createHealthMonitor(options: {
  sql: Sql;
  logger: Logger;
  intervalMs: number;
  timeoutMs: number;
}): HealthMonitor {
  const { sql, logger, intervalMs, timeoutMs } = options;

  async function probe(s: { name: string; url: string; health_path: string }): Promise<void> {
    const started = performance.now();
    let up = false;
    try {
      const res = await fetch(new URL(s.health_path, s.url), { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      up = res.ok;
    } catch {
      up = false;
    }
    const latency = Math.round(performance.now() - started);
    const status = up ? 'up' : 'down';
    const [row] = await sql.query<{ previous: string }>(
      `with previous as (select status from mw_dashboard.services where name = $1)
       update mw_dashboard.services set status = $2, latency_ms = $3, checked_at = now() where name = $1
       returning (select status from previous) as previous`,
      [s.name, status, up ? latency : null],
    );
    if (row && row.previous !== status) logger.info({ service: s.name, status }, 'service status changed');
  }

  async function checkNow(): Promise<void> {
    const services = await sql.query<{ name: string; url: string; health_path: string }>(
      'select name, url, health_path from mw_dashboard.services',
    );
    await Promise.all(services.map(probe));
  }

  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow round is not stacked on another
    running = true;
    checkNow()
      .catch((err: unknown) => logger.warn({ err }, 'health check round failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();

  return {
    async register(s) {
      await sql.query(
        `insert into mw_dashboard.services (name, url, health_path, routes) values ($1, $2, $3, $4::jsonb)
         on conflict (name) do update set url = excluded.url, health_path = excluded.health_path, routes = excluded.routes`,
        [s.name, s.url, s.healthPath, JSON.stringify(s.routes)],
      );
    },
    async list() {
      return sql.query<ServiceStatus>(
        `select name, routes, status, latency_ms as "latencyMs", checked_at as "checkedAt"
         from mw_dashboard.services order by name`,
      );
    },
    checkNow,
    stop() {
      clearInterval(timer);
    },
  };
}
