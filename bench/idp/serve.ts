/**
 * The identity provider alone, for bench/idp/run.ts: one process, PostgreSQL in a fresh schema of the
 * test database (dropped on exit), demo clients seeded. With BENCH_REFRESH_TOKENS=n it first prints
 * `TOKENS [n refresh tokens]`; then `READY <origin>` when it serves.
 *
 *   ./node_modules/.bin/node bench/idp/serve.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState } from '@gatehouse/core/testing';
import { createIdp, type IdpConfig, idpConfigSchema, idpMigrations, seedDemoClients } from '@gatehouse/idp';

const db = await openTestSql('postgres', { migrations: [idpMigrations] });
const state = await openTestState('memory');
const config = loadConfig<{ idp: IdpConfig }>({
  document: { idp: {} },
  sections: { idp: idpConfigSchema },
  env: {},
}).idp;
let handler:
  | ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void)
  | undefined;
const server = createServer((req, res) => handler!(req, res));
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
await seedDemoClients(db.sql);
// A fixed account: the refresh scenario measures the protocol and storage, not an account store.
const accounts = {
  findAccount: async (_ctx: unknown, sub: string) => ({
    accountId: sub,
    username: 'bench-user',
    roles: ['user'],
    claims: () => ({ sub, preferred_username: 'bench-user' }),
  }),
};
const idp = await createIdp({
  config,
  sql: db.sql,
  state: state.state,
  logger: silentLogger(),
  publicUrl: origin,
  accounts,
  autoload: false,
});
handler = idp.handler;

/** Refresh tokens for the refresh scenario, minted through oidc-provider's own models (no login pages). */
async function mintRefreshTokens(count: number): Promise<string[]> {
  const provider = idp.provider;
  const client = await provider.Client.find('demo-app');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const grant = new provider.Grant({ accountId: `bench-${i}`, clientId: 'demo-app' });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(idp.defaultAudience, 'openid offline_access');
    const grantId = await grant.save();
    // Like a grant from a browser login: bound to an OIDC session, whose sid a refresh checks
    // against the logout revocations (provider.ts) and puts in the access token.
    const rt = new provider.RefreshToken({
      accountId: `bench-${i}`,
      client: client!,
      grantId,
      sessionUid: `bench-session-${i}`,
      scope: 'openid offline_access',
      gty: 'authorization_code',
      resource: idp.defaultAudience,
    });
    out.push(await rt.save());
  }
  return out;
}
const refreshTokens = Number(process.env['BENCH_REFRESH_TOKENS'] ?? 0);
if (refreshTokens > 0)
  process.stdout.write(`TOKENS ${JSON.stringify(await mintRefreshTokens(refreshTokens))}\n`);

async function stop(): Promise<void> {
  server.closeAllConnections();
  server.close();
  await idp.close();
  await state.cleanup();
  await db.cleanup();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdout.write(`READY ${origin}\n`);
