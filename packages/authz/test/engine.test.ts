import { migrate } from '@gatehouse/core';
import { openTestSql, skipUnlessService } from '@gatehouse/core/testing';
import { authzMigrations } from '../src/index.ts';
import { engineSuite } from './engine-suite.ts';

for (const kind of ['pglite', 'postgres'] as const) {
  engineSuite(
    `authz engine [${kind}]`,
    async () => {
      const db = await openTestSql(kind);
      await migrate(db.sql, [authzMigrations]);
      return { sql: db.sql, close: () => db.cleanup() };
    },
    await skipUnlessService(kind),
  );
}
