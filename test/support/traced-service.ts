// A service behind the gateway, as a separate process, traced with core's tracing module: each
// request is a server span joined to the gateway's traceparent, and the call it makes to the identity
// provider (a client-credentials token) carries that span's traceparent on.
//   COLLECTOR=<otlp traces url> TOKEN_URL=<idp token endpoint> node test/support/traced-service.ts
// Prints its URL on the first line of stdout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracing, traceRequests } from '@gatehouse/core';

const tracing = await createTracing(
  { endpoint: process.env.COLLECTOR!, sampleRatio: 1, exportIntervalMs: 100, serviceName: 'shop-service' },
  'shop-service',
);
const server = createServer(
  traceRequests(async (_req, res, span) => {
    const token = await fetch(process.env.TOKEN_URL!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
        ...(span ? { traceparent: span.traceparent } : {}),
      },
      body: 'grant_type=client_credentials',
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ idpStatus: token.status }));
  }, tracing),
);
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void tracing.shutdown().then(() => process.exit(0));
});
