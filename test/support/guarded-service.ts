// A service behind the gateway, as a separate process, guarded by the SDK's node:http guard with
// core's tracing: the guard's span (a child of the gateway's traceparent) carries the decision, and
// its permission requirement asks the permission service with that span's traceparent.
//   COLLECTOR=<otlp traces url> ISSUER=<idp issuer> AUDIENCE=<token audience> AUTHZ_URL=<authz url>
//   STORE_ID=<store> CLIENT_ID=<client> CLIENT_SECRET=<secret> node test/support/guarded-service.ts
// GET /<id> answers 200 when the caller's client is a viewer of document:<id>. Prints its URL on the
// first line of stdout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTracing } from '@gatehouse/core';
import { createPermissionClient, createServiceClient, createVerifier } from '@gatehouse/sdk';
import { createNodeGuard } from '@gatehouse/sdk/node-http';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const issuer = env('ISSUER');
const tracing = await createTracing(
  { endpoint: env('COLLECTOR'), sampleRatio: 1, exportIntervalMs: 100, serviceName: 'guarded-service' },
  'guarded-service',
);
const permissions = createPermissionClient({
  store: env('STORE_ID'),
  url: env('AUTHZ_URL'),
  serviceClient: createServiceClient({
    tokenEndpoint: `${issuer}/token`,
    clientId: env('CLIENT_ID'),
    credentials: { clientSecret: env('CLIENT_SECRET') },
  }),
  token: { audience: env('AUTHZ_URL'), scope: 'authz:read' },
  // Every request asks the permission service, so that each one has its span.
  cache: false,
});
const guard = createNodeGuard({
  verifier: createVerifier({ issuer, audiences: [env('AUDIENCE')], jwksUri: `${issuer}/jwks` }),
  tracing,
});
const server = createServer(
  guard.protect(
    (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ client: req.principal.clientId, traced: req.traceparent !== undefined }));
    },
    guard.requirePermission({
      client: permissions,
      relation: 'viewer',
      object: ({ path }) => `document:${path.slice(1)}`,
    }),
  ),
);
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void Promise.all([permissions.close(), tracing.shutdown()]).then(() => process.exit(0));
});
