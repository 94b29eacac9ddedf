// Serves the single-page app (index.html) and its settings (/config.json) on its own origin.
//   ISSUER=http://localhost:8080/auth CLIENT_ID=spa API_URL=http://localhost:8080/spa-api \
//     ./node_modules/.bin/node examples/spa/serve.ts     # http://127.0.0.1:5173
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SpaOptions {
  issuer: string;
  clientId: string;
  apiUrl: string;
  port?: number;
  host?: string;
}

const page = readFileSync(new URL('./index.html', import.meta.url));

export async function startSpa(
  options: SpaOptions,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const settings = JSON.stringify({
    issuer: options.issuer,
    clientId: options.clientId,
    apiUrl: options.apiUrl,
  });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://spa.invalid').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(page);
    } else if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(settings);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.main) {
  const spa = await startSpa({
    issuer: process.env.ISSUER ?? 'http://localhost:8080/auth',
    clientId: process.env.CLIENT_ID ?? 'spa',
    apiUrl: process.env.API_URL ?? 'http://localhost:8080/spa-api',
    port: Number(process.env.PORT ?? 5173),
  });
  console.log(`single-page app on ${spa.url}`);
}
