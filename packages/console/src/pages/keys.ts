import { html } from '../html.ts';
import { actionButton, layout, notice } from '../layout.ts';
import { type ConsoleRoute, must } from '../route.ts';

interface SigningKey {
  kid: string;
  alg: string;
  state: string;
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
}

export const keyRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/keys',
    async run(r) {
      const keys = must(await r.admin.call<SigningKey[]>('GET', '/keys'));
      const { page: ctx } = r;
      const main = html`${notice(r.query.get('done') === 'rotated' ? 'Keys rotated: the next key is now active.' : undefined)}
<p>The <em>next</em> key is already published, so tokens it signs verify everywhere as soon as it becomes active.</p>
${actionButton(ctx, `${ctx.base}/keys/rotate`, 'Rotate signing keys')}
<div class="table-wrap"><table><caption>${keys.length} keys</caption>
<thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Activated</th><th scope="col">Retired</th></tr></thead>
<tbody>${keys.map(
        (k) =>
          html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${k.state}</td><td>${k.createdAt}</td><td>${k.activatedAt ?? '—'}</td><td>${k.retiredAt ?? '—'}</td></tr>`,
      )}</tbody></table></div>`;
      return { html: layout(ctx, 'keys', 'Signing keys', main) };
    },
  },
  {
    method: 'POST',
    path: '/keys/rotate',
    async run(r) {
      must(await r.admin.call('POST', '/keys/rotate'));
      return { redirect: `${r.page.base}/keys?done=rotated` };
    },
  },
];
