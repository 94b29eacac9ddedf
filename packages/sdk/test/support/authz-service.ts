/**
 * The real permission engine (`@gatehouse/authz` on PGlite or PostgreSQL) served as the OpenFGA HTTP
 * API on 127.0.0.1 port 0, with a Google-Drive-like model: nested groups, folders, documents.
 * `stop()` closes the port (the engine down); `calls` counts requests by path tail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Authz, authzMigrations, createAuthz, createOpenfgaHandler } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { openTestSql, type TestSql } from '@gatehouse/core/testing';

export const driveModel = `model
  schema 1.1
type user
type client
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define viewer: [user, client, group#member] or viewer from parent
type document
  relations
    define parent: [folder]
    define owner: [user]
    define viewer: [user, group#member] or owner or viewer from parent
`;

export interface AuthzService {
  url: string;
  authz: Authz;
  storeId: string;
  db: TestSql;
  calls: Map<string, number>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startAuthzService(
  tuples: { object: string; relation: string; user: string }[],
  driver: 'pglite' | 'postgres' = 'pglite',
): Promise<AuthzService> {
  const db = await openTestSql(driver);
  await migrate(db.sql, [authzMigrations]);
  const authz = createAuthz({ sql: db.sql });
  const store = await authz.createStore({ name: 'drive' });
  await authz.writeAuthorizationModel(store.id, { dsl: driveModel });
  if (tuples.length > 0) await authz.write(store.id, { writes: { tupleKeys: tuples } });
  const handler = createOpenfgaHandler({ authz });
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const tail = (req.url ?? '').split('?')[0]!.split('/').pop() ?? '';
    calls.set(tail, (calls.get(tail) ?? 0) + 1);
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authz,
    storeId: store.id,
    db,
    calls,
    stop,
    async close() {
      await stop();
      await db.cleanup();
    },
  };
}
