import { createServer, type Server } from 'node:http';

/**
 * The demo upstream that `gatehouse dev` puts behind the gateway. `GET /echo` answers with the
 * request line and headers it received, so a newcomer can see exactly which identity headers the
 * gateway set (and that spoofed ones never arrive). `/health` answers for health checks.
 */
export function createDemoService(draining: () => boolean = () => false): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      const ok = !draining();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(ok ? '{"status":"ok"}' : '{"status":"draining"}');
      return;
    }
    if (path === '/echo' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({ error: 'DEMO_NOT_FOUND', message: 'The demo service serves GET /echo and /health' }),
    );
  });
}
