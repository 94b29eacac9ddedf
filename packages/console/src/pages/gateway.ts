import { type GatewaySample, type MetricsSampler, type Point, seriesOf } from '../gateway/metrics-sampler.ts';
import { sparkline } from '../gateway/sparkline.ts';
import { html, type Markup } from '../html.ts';
import { layout } from '../layout.ts';
import { type ConsoleRequest, type ConsoleRoute, must } from '../route.ts';

/** A gateway route as the console shows it (from the gateway's configuration). */
export interface GatewayRouteView {
  id: string;
  match: Record<string, unknown>;
  policy: unknown;
  upstreams: string[];
  browser?: boolean;
  rateLimit?: { average: number; period?: string; burst?: number; key?: string };
  inflight?: { max: number };
}

export interface GatewayView {
  /** The gateway's routes now (they change on a configuration reload). */
  routes(): GatewayRouteView[];
  sampler: MetricsSampler;
}

const WINDOW_MS = 5 * 60_000;
const LOGIN_BUCKET_MS = 30_000;

interface AuditEvent {
  at: string;
}

/** Successful sign-ins per 30 s over the window, from the audit trail (admin API). */
async function loginSeries(r: ConsoleRequest, now: number): Promise<Point[]> {
  const since = new Date(now - WINDOW_MS).toISOString();
  const events = must(
    await r.admin.call<AuditEvent[]>(
      'GET',
      `/audit?type=login.succeeded&since=${encodeURIComponent(since)}&limit=500`,
    ),
  );
  const buckets = Math.round(WINDOW_MS / LOGIN_BUCKET_MS);
  const counts = new Array<number>(buckets).fill(0);
  for (const e of events) {
    const i = Math.floor((now - Date.parse(e.at)) / LOGIN_BUCKET_MS);
    if (i >= 0 && i < buckets) counts[buckets - 1 - i]!++;
  }
  return counts.map((value, i) => ({ at: now - (buckets - 1 - i) * LOGIN_BUCKET_MS, value }));
}

const policyText = (policy: unknown): string =>
  typeof policy === 'string' ? policy : JSON.stringify(policy);

async function charts(
  r: ConsoleRequest,
  view: GatewayView,
  freshMs?: number,
): Promise<{ markup: Markup; samples: GatewaySample[] }> {
  const samples = await view.sampler.refresh(freshMs);
  const now = Date.now();
  const series = seriesOf(samples);
  const logins = await loginSeries(r, now);
  const error = view.sampler.lastError();
  const markup = html`${error ? html`<p class="form-error" role="alert">The gateway's metrics did not answer: ${error}</p>` : ''}
<div class="charts">
${sparkline('chart-rps', 'Requests per second', 'req/s', series.requestsPerSecond, WINDOW_MS)}
${sparkline('chart-p99', 'p99 latency', 'ms', series.p99Ms, WINDOW_MS)}
${sparkline('chart-4xx', '4xx answers per second', '/s', series.errors4xxPerSecond, WINDOW_MS)}
${sparkline('chart-5xx', '5xx answers per second', '/s', series.errors5xxPerSecond, WINDOW_MS)}
${sparkline('chart-logins', 'Sign-ins per 30 s', 'sign-ins', logins, WINDOW_MS)}
</div><p class="hint">From the gateway's Prometheus metrics, scraped every 5 s while this page is open, and the audit trail's sign-ins.</p>`;
  return { markup, samples };
}

export function gatewayRoutes(view: GatewayView | undefined): ConsoleRoute[] {
  const off = (r: ConsoleRequest) => ({
    html: layout(
      r.page,
      'gateway',
      'Gateway',
      html`<p>The console was started without access to the gateway.</p>`,
    ),
  });
  return [
    {
      method: 'GET',
      path: '/gateway',
      async run(r) {
        if (!view) return off(r);
        const { page: ctx } = r;
        // The page's tables (health, rejections) read the newest sample: scrape now, not up to a
        // second ago as the charts' polling may.
        const { markup, samples } = await charts(r, view, 0);
        const last = samples.at(-1);
        const routes = view.routes();
        const rejections = [...(last?.rejections ?? new Map<string, number>())].filter(([, n]) => n > 0);
        const upstreams = [...(last?.upstreams ?? new Map<string, boolean>())];
        const main = html`<section aria-labelledby="live"><h2 id="live">Last five minutes</h2>
<div id="live-charts" data-src="${ctx.base}/gateway/charts">${markup}</div></section>
<section aria-labelledby="routes"><h2 id="routes">Routes</h2>
<div class="table-wrap"><table><caption>${routes.length} routes, in match order</caption>
<thead><tr><th scope="col">Route</th><th scope="col">Match</th><th scope="col">Policy</th><th scope="col">Limits</th><th scope="col">Upstreams</th></tr></thead>
<tbody>${routes.map(
          (route) =>
            html`<tr><th scope="row"><code>${route.id}</code></th><td><code>${JSON.stringify(route.match)}</code></td><td><code>${policyText(route.policy)}</code>${route.browser ? ' · pages for people' : ''}</td><td>${
              route.rateLimit
                ? `${route.rateLimit.average} per ${route.rateLimit.period ?? '1s'}${route.rateLimit.burst ? `, burst ${route.rateLimit.burst}` : ''} by ${route.rateLimit.key ?? 'ip'}`
                : ''
            }${route.inflight ? ` · at most ${route.inflight.max} in flight` : ''}${route.rateLimit || route.inflight ? '' : '—'}</td><td>${route.upstreams.map((u) => html`<code>${u}</code> `)}</td></tr>`,
        )}</tbody></table></div></section>
<section aria-labelledby="health"><h2 id="health">Upstream health</h2>
${
  upstreams.length === 0
    ? html`<p>No upstream has been reported yet.</p>`
    : html`<div class="table-wrap"><table><caption>Replicas by route</caption>
<thead><tr><th scope="col">Route</th><th scope="col">Upstream</th><th scope="col">State</th></tr></thead>
<tbody>${upstreams.map(([key, up]) => {
        const [route, upstream] = key.split(' ');
        return html`<tr><td><code>${route}</code></td><td><code>${upstream}</code></td><td>${up ? html`<span class="state ok">takes traffic</span>` : html`<span class="state bad">out of rotation</span>`}</td></tr>`;
      })}</tbody></table></div>`
}</section>
<section aria-labelledby="limits"><h2 id="limits">Rate-limit rejections</h2>
${
  rejections.length === 0
    ? html`<p>No request has been refused by a limit since the gateway started.</p>`
    : html`<div class="table-wrap"><table><caption>Requests refused with 429 since the gateway started</caption>
<thead><tr><th scope="col">Route</th><th scope="col">Limit</th><th scope="col">Refused</th></tr></thead>
<tbody>${rejections.map(([key, n]) => {
        const [route, limit] = key.split(' ');
        return html`<tr><td><code>${route}</code></td><td>${limit}</td><td>${String(n)}</td></tr>`;
      })}</tbody></table></div>`
}</section>
<script src="${ctx.base}/assets/live-charts.js" defer></script>`;
        return { html: layout(ctx, 'gateway', 'Gateway', main) };
      },
    },
    {
      method: 'GET',
      path: '/gateway/charts',
      async run(r) {
        if (!view) return off(r);
        return { fragment: (await charts(r, view)).markup.html };
      },
    },
  ];
}
