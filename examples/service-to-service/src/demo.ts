/**
 * The service-to-service demo: Service A calls Service B every two seconds with a cached token while
 * the identity provider is stopped, until the token expires; then the identity provider comes back
 * and A recovers by itself. Everything runs in this process (PGlite in memory), about a minute:
 *
 *   ./node_modules/.bin/node examples/service-to-service/src/demo.ts
 */
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadConfig, migrate, openSql, openState } from '@gatehouse/core';
import { createIdp, type Idp, type IdpConfig, idpConfigSchema, idpMigrations } from '@gatehouse/idp';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { createServiceToServiceExample } from './index.ts';

const TOKEN_TTL_SECONDS = 30; // the shortest the identity provider allows
const logger = createLogger({ level: 'warn' });
const example = createServiceToServiceExample();
const started = Date.now();
const say = (text: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}`);

const sql = await openSql({ driver: 'pglite' });
await migrate(sql, [idpMigrations]);
const state = await openState({ driver: 'memory' });

let idp: Idp | undefined;
let idpServer: Server = idpHttpServer();
const idpUrl = await listen(idpServer);
const idpPort = Number(new URL(idpUrl).port);
const site = { publicUrl: idpUrl, issuer: `${idpUrl}/auth` };
const config = loadConfig<{ idp: IdpConfig }>({
  document: {
    idp: {
      accessTokenTtlSeconds: TOKEN_TTL_SECONDS,
      resources: example.resources?.(site),
      clients: example.clients(site),
    },
  },
  sections: { idp: idpConfigSchema },
  env: {},
}).idp;
idp = await createIdp({ config, sql, state, logger, publicUrl: idpUrl });
const handle = await example.start({
  ...site,
  jwksUri: `${site.issuer}/jwks`,
  tokenEndpoint: `${site.issuer}/token`,
  sql,
  logger,
  mode: 'development',
});
const aUrl = handle.services.find((s) => s.name === 's2s-service-a')!.url;
say(`identity provider on ${idpUrl}, Service A on ${aUrl}, tokens live ${TOKEN_TTL_SECONDS} s`);

function idpHttpServer(): Server {
  return createServer((req, res) => {
    if (!idp) res.writeHead(503).end();
    else idp.handler(req, res);
  });
}

/** One call of A (which calls B); prints the outcome and says whether it succeeded. */
async function call(): Promise<boolean> {
  const res = await fetch(`${aUrl}/s2s/call-b`);
  const body = (await res.json()) as {
    serviceB?: { tokenExpiresAt: string };
    error?: string;
    message?: string;
  };
  if (res.status === 200 && body.serviceB) {
    const left = Math.round((Date.parse(body.serviceB.tokenExpiresAt) - Date.now()) / 1000);
    say(`A → B: 200, A's cached token expires in ${left} s`);
    return true;
  }
  say(`A → B: ${res.status} ${body.error}: ${body.message}`);
  return false;
}

try {
  for (let i = 0; i < 2; i++) {
    await call();
    await sleep(2000);
  }
  idpServer.closeAllConnections();
  await closeServer(idpServer);
  say('identity provider STOPPED: no new tokens, no keys; Service B verifies from the keys it holds');
  while (await call()) await sleep(2000);
  say('the cached token has expired and no new one can be had: a clear 503, not a hang');
  await sleep(2000);
  idpServer = idpHttpServer();
  await listen(idpServer, idpPort);
  say('identity provider STARTED again');
  while (!(await call())) await sleep(1000);
  say('Service A got a new token by itself: recovered');
} finally {
  await handle.close();
  idpServer.closeAllConnections();
  await closeServer(idpServer);
  await idp.close();
  await state.close();
  await sql.close();
}
