import { createServiceApp, type ServiceApp, type ServiceDeps } from '../service-kit.ts';
import type { HealthMonitor, ServiceStatus } from './health-monitor.ts';

/**
 * mw-dashboard, at `/dashboard`: every registered PartsCoder service and its last health status,
 * as a page (`GET /dashboard`) and as JSON (`GET /dashboard/api/services`), for any signed-in user.
 * Internal service URLs are never shown.
 */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function renderPage(services: ServiceStatus[], username: string): string {
  const rows = services
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.name)}</td><td>${s.routes.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}</td>` +
        `<td class="${s.status}">${s.status}</td><td>${s.latencyMs ?? '-'}</td>` +
        `<td>${s.checkedAt ? escapeHtml(new Date(s.checkedAt).toISOString()) : '-'}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>PartsCoder dashboard</title><style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}.up{color:#070}.down{color:#b00}</style></head>
<body><h1>PartsCoder services</h1><p>Signed in as <strong>${escapeHtml(username)}</strong>.</p>
<table><thead><tr><th>service</th><th>routes</th><th>status</th><th>latency (ms)</th><th>checked</th></tr></thead>
<tbody>${rows}</tbody></table></body></html>`;
}

export function dashboardApp(deps: ServiceDeps & { monitor: HealthMonitor }): ServiceApp {
  const { guard, monitor } = deps;
  const app = createServiceApp('mw-dashboard', deps);

  app.get('/dashboard', guard.authenticate, async (c) => {
    const me = c.get('principal');
    c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    return c.html(renderPage(await monitor.list(), me.username ?? me.subject));
  });

  app.get('/dashboard/api/services', guard.authenticate, async (c) =>
    c.json({ services: await monitor.list() }),
  );

  return app;
}
