import { after } from 'node:test';
import { migrate } from '@gatehouse/core';
import { openTestSql, skipUnlessService } from '@gatehouse/core/testing';
import { authzMigrations } from '../src/index.ts';
import { conformanceFile, conformanceSuite, loadConformanceCases } from './conformance-suite.ts';

// OpenFGA's conformance tests on both storages. The data file sits outside the repository
// (`<repo>/../shared/conformance/openfga/`); without it the suite skips, except under CI=true.
const loaded = loadConformanceCases();
let skip: false | string = false;
if ('missing' in loaded) {
  if (process.env['CI'] === 'true')
    throw new Error(`OpenFGA conformance file missing under CI=true: ${loaded.missing}`);
  skip = `OpenFGA conformance file missing: ${loaded.missing}`;
  process.stderr.write(`# skipping: ${skip}\n`);
}
const cases = 'cases' in loaded ? loaded.cases : [];
const counts = { assertions: 0 };

for (const kind of ['pglite', 'postgres'] as const) {
  const serviceSkip = skip || (await skipUnlessService(kind));
  conformanceSuite(
    `openfga conformance [${kind}]`,
    async () => {
      const db = await openTestSql(kind);
      await migrate(db.sql, [authzMigrations]);
      return { sql: db.sql, close: () => db.cleanup() };
    },
    { skip: serviceSkip, cases, counts },
  );
}

after(() => {
  process.stderr.write(
    `# ${cases.length} OpenFGA conformance tests from ${conformanceFile}, ${counts.assertions} assertions run\n`,
  );
});
