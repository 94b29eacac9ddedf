import { createServer, type Server } from 'node:http';

export interface LandingService {
  /** The system it belongs to ("Gatehouse", "E-commerce behind an API gateway", …). */
  system: string;
  name: string;
  /** Internal URL, probed for health; never shown to the browser. */
  url: string;
  healthPath: string;
  routes: string[];
  /** Its page for people, as a browser reaches it (a path on the gateway or another origin). */
  page?: string;
}

export interface LandingOptions {
  services: LandingService[];
  issuer: string;
  /** Where a browser starts a sign-in (the gateway's browser sessions); absent: no "Sign in". */
  signInPath?: string;
  /** Other pages for people on this origin: the admin console, the account page. */
  links?: { title: string; href: string }[];
  /** The path of the identity provider's development mailbox, when mail goes there. */
  mailbox?: string | undefined;
}

const DOCS_URL = 'https://github.com/gatehouse/gatehouse/tree/main/docs';

interface Probe {
  status: 'up' | 'down';
  httpStatus?: number;
  latencyMs: number;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function probe(service: LandingService): Promise<Probe> {
  const started = performance.now();
  try {
    const res = await fetch(new URL(service.healthPath, service.url), { signal: AbortSignal.timeout(1500) });
    await res.arrayBuffer();
    return {
      status: res.ok ? 'up' : 'down',
      httpStatus: res.status,
      latencyMs: Math.round(performance.now() - started),
    };
  } catch {
    return { status: 'down', latencyMs: Math.round(performance.now() - started) };
  }
}

/**
 * The landing page of `gatehouse dev` at `/`: a way to sign in, the web apps and consoles a person can
 * open, and every service behind the gateway with its public routes and its live health (probed on
 * each request, in parallel, with a short timeout). `Accept: application/json` gets the same as JSON.
 */
export function createLandingPage(options: LandingOptions): Server {
  const apps = options.services
    .filter((s) => s.page !== undefined)
    .map((s) => ({ title: `${s.system}: ${s.name}`, href: s.page! }));
  return createServer(async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end('{"error":"GH_METHOD_NOT_ALLOWED","message":"Method not allowed"}');
      return;
    }
    const probes = await Promise.all(options.services.map(probe));
    const rows = options.services.map((s, i) => ({
      system: s.system,
      service: s.name,
      routes: s.routes,
      health: probes[i]!,
    }));
    if ((req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        JSON.stringify(
          {
            issuer: options.issuer,
            signIn: options.signInPath,
            apps,
            links: options.links ?? [],
            services: rows,
          },
          null,
          2,
        ),
      );
      return;
    }
    const body = rows
      .map(
        (r) =>
          `<tr><td>${escapeHtml(r.system)}</td><td>${escapeHtml(r.service)}</td><td>${r.routes
            .map((p) => `<code>${escapeHtml(p)}</code>`)
            .join(' ')}</td><td class="${r.health.status}">${r.health.status === 'up' ? '● up' : '○ down'}${
            r.health.httpStatus ? ` (${r.health.httpStatus})` : ''
          }</td></tr>`,
      )
      .join('\n');
    const link = (l: { title: string; href: string }) =>
      `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.title)}</a></li>`;
    const nav = [
      ...(options.signInPath ? [{ title: 'Sign in', href: options.signInPath }] : []),
      ...(options.links ?? []),
      { title: 'Documentation', href: DOCS_URL },
    ];
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse</title>
<style>
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --up: #1a7f37; --down: #cf222e; --line: #d0d7de; --link: #0550ae; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --up: #3fb950; --down: #ff7b72; --line: #30363d; --link: #58a6ff; } }
a { color: var(--link); } nav ul, .apps { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
.table-wrap { overflow-x: auto; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.visually-hidden { position: absolute; left: -9999px; } code { font-size: .9em; } .up { color: var(--up); } .down { color: var(--down); } p { color: var(--muted); }
</style></head>
<body><header><h1>Gatehouse</h1>
<nav aria-label="Main"><ul>${nav.map(link).join('')}</ul></nav></header>
<main>
${apps.length > 0 ? `<h2>Web apps</h2>\n<ul class="apps">${apps.map(link).join('')}</ul>` : ''}
<h2>Services</h2>
<p>Issuer <code>${escapeHtml(options.issuer)}</code> — discovery at <a href="${escapeHtml(options.issuer)}/.well-known/openid-configuration"><code>/.well-known/openid-configuration</code></a>. Health is checked live on each load.</p>
${options.mailbox ? `<p>Mail the identity provider sends (email verification, password reset) is kept in the <a href="${escapeHtml(options.mailbox)}">development mailbox</a>.</p>\n` : ''}<div class="table-wrap"><table><caption class="visually-hidden">Services behind the gateway</caption>
<thead><tr><th scope="col">system</th><th scope="col">service</th><th scope="col">routes</th><th scope="col">health</th></tr></thead>
<tbody>
${body}
</tbody></table></div></main></body></html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  });
}
