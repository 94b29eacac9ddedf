import { html } from '../html.ts';
import { field, formError, layout } from '../layout.ts';
import { accepted, type ConsoleRequest, type ConsoleRoute, fieldOf, must } from '../route.ts';

interface AuditEvent {
  id: number;
  type: string;
  actor: string | null;
  subject: string | null;
  clientId: string | null;
  sourceIp: string | null;
  at: string;
  details?: Record<string, unknown>;
}

const PAGE_SIZE = 50;
const FILTERS = ['actor', 'type', 'since', 'until'] as const;

/** The admin API query for the filters the person set (empty ones left out). */
function filterQuery(query: URLSearchParams, extra: Record<string, string>): string {
  const q = new URLSearchParams();
  for (const name of FILTERS) {
    const v = (query.get(name) ?? '').trim();
    if (!v) continue;
    // A datetime-local field has no zone: it is read as UTC, as the table shows times.
    q.set(name, (name === 'since' || name === 'until') && /T\d\d:\d\d$/.test(v) ? `${v}:00Z` : v);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  // A leading =, +, - or @ makes spreadsheets run the cell as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

async function auditPage(r: ConsoleRequest) {
  const { page: ctx, query } = r;
  const before = query.get('before');
  const answer = accepted(
    await r.admin.call<AuditEvent[]>(
      'GET',
      `/audit?${filterQuery(query, { limit: String(PAGE_SIZE), ...(before && /^\d+$/.test(before) ? { beforeId: before } : {}) })}`,
    ),
  );
  const err = answer.error
    ? {
        field: fieldOf(answer.error, {
          since: ['since'],
          until: ['until'],
          actor: ['actor'],
          type: ['type'],
        }),
        message: `${answer.error.message} (${answer.error.code})`,
      }
    : undefined;
  const events = err ? [] : answer.body;
  const at = (name: string) => (err?.field === name ? err.message : undefined);
  const value = (name: string) => query.get(name) ?? '';
  const last = events.at(-1);
  const main = html`<form method="get" action="${ctx.base}/audit" class="filters" novalidate>
${err && !err.field ? formError(err.message) : ''}
${field('audit', 'actor', 'Actor (user or client id)', { value: value('actor'), error: at('actor'), maxlength: 256 })}
${field('audit', 'type', 'Event', { value: value('type'), error: at('type'), hint: 'e.g. admin.change, session.revoked, login.failed', maxlength: 256 })}
${field('audit', 'since', 'From (UTC)', { type: 'datetime-local', value: value('since'), error: at('since') })}
${field('audit', 'until', 'Until (UTC)', { type: 'datetime-local', value: value('until'), error: at('until') })}
<button type="submit">Filter</button>
<a class="button" href="${ctx.base}/audit.csv?${filterQuery(query, {})}">Export CSV</a></form>
<div class="table-wrap"><table><caption>${events.length} event${events.length === 1 ? '' : 's'}${before ? ' (older page)' : ''}</caption>
<thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Subject</th><th scope="col">Client</th><th scope="col">Details</th></tr></thead>
<tbody>${events.map(
    (e) =>
      html`<tr><td>${e.at}</td><td><code>${e.type}</code></td><td>${typeof e.details?.['action'] === 'string' ? e.details['action'] : ''}</td><td>${e.actor ?? ''}</td><td>${e.subject ?? ''}</td><td>${e.clientId ?? ''}</td><td><code>${e.details ? JSON.stringify(e.details) : ''}</code></td></tr>`,
  )}</tbody></table></div>
<nav aria-label="Pages" class="pager">${before ? html`<a href="${ctx.base}/audit?${filterQuery(query, {})}">Newest</a>` : ''}${
    last && events.length === PAGE_SIZE
      ? html`<a href="${ctx.base}/audit?${filterQuery(query, { before: String(last.id) })}">Older events</a>`
      : ''
  }</nav>`;
  return { html: layout(ctx, 'audit', 'Audit log', main), status: err ? 400 : 200 };
}

export const auditRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/audit', run: auditPage },
  {
    method: 'GET',
    path: '/audit.csv',
    async run(r) {
      const events = must(
        await r.admin.call<AuditEvent[]>('GET', `/audit?${filterQuery(r.query, { limit: '500' })}`),
      );
      const header = 'id,at,type,actor,subject,clientId,sourceIp,details';
      const lines = events.map((e) =>
        [e.id, e.at, e.type, e.actor, e.subject, e.clientId, e.sourceIp, e.details].map(csvCell).join(','),
      );
      return {
        download: `${[header, ...lines].join('\r\n')}\r\n`,
        filename: 'gatehouse-audit.csv',
        type: 'text/csv; charset=utf-8',
      };
    },
  },
];
