import { authzMigrations, createAuthz } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { createPermissionClient, createVerifier, type PermissionClient } from '@gatehouse/sdk';
import type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { loadRoutesFile } from '../../shared/src/routes-file.ts';
import { createBeepService } from './beep-service.ts';
import { beepMigrations, createMessageStore } from './message-store.ts';
import { ensureBeepStore } from './permission-store.ts';

export type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';
export { BEEP_STORE, readBeepModel, readDemoTuples } from './permission-store.ts';

const ROUTES_FILE = new URL('../routes.yaml', import.meta.url);
const ROUTES = ['/beep'];

export interface BeepOptions {
  /** How the service's permission client follows the change feed (tests shorten nothing by default). */
  watch?: { intervalMs?: number; staleAfterMs?: number };
}

/** The Discord-like reference system with explicit options (tests). */
export function createBeepExample(options: BeepOptions = {}): Example {
  return {
    name: 'beep',
    title: 'Beep: a chat platform with Discord-like permissions',
    clients: () => [],
    demoAccounts: [
      // The campus server's moderator (model/campus-tuples.yaml).
      { username: 'cody', password: 'cody-password', email: 'cody@example.com', roles: ['user'] },
    ],
    start: (ctx) => startBeep(ctx, options),
  };
}

/** What `gatehouse dev` imports. */
export const example: Example = createBeepExample();

async function startBeep(ctx: ExampleContext, options: BeepOptions): Promise<ExampleHandle> {
  // The store lives on the shared storage, where the gateway's in-process engine reads it too.
  await migrate(ctx.sql, [authzMigrations, beepMigrations]);
  const authz = createAuthz({ sql: ctx.sql });
  const storeId = await ensureBeepStore(authz, { seed: ctx.mode === 'development' });
  const logger = ctx.logger.child({ service: 'beep' });
  const permissions: PermissionClient = createPermissionClient({
    store: storeId,
    backend: authz,
    logger,
    ...(options.watch ? { watch: options.watch } : {}),
  });
  const verifier = createVerifier({ issuer: ctx.issuer, audiences: [ctx.publicUrl], jwksUri: ctx.jwksUri });
  const server = createBeepService({
    authz,
    storeId,
    permissions,
    messages: createMessageStore(ctx.sql),
    verifier,
    logger,
  });
  const close = async () => {
    await closeServer(server);
    await permissions.close();
  };
  try {
    const url = await listen(server);
    const routes = await loadRoutesFile(ROUTES_FILE, { services: { beep: [url] }, limits: true });
    ctx.logger.info({ storeId }, 'beep started');
    return { services: [{ name: 'beep', url, healthPath: '/health', routes: ROUTES }], routes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
