import assert from 'node:assert/strict';
import { globSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrate } from '@gatehouse/core';
import { openTestSql, type TestSql } from '@gatehouse/core/testing';
import {
  type Authz,
  authzMigrations,
  createAuthz,
  readStoreTestFile,
  runStoreTestFile,
  StoreTestFileError,
} from '../src/index.ts';

// OpenFGA's store test files run against the engine: the repo's own files all pass, and a wrong
// expectation or a malformed file is reported, not passed.
const shipped = globSync(join(import.meta.dirname, '../../../docs/authz/store-tests/*.fga.yaml')).sort();

describe('store test files', () => {
  let db: TestSql;
  let authz: Authz;
  const dir = mkdtempSync(join(tmpdir(), 'gh-store-test-'));
  before(async () => {
    db = await openTestSql('pglite');
    await migrate(db.sql, [authzMigrations]);
    authz = createAuthz({ sql: db.sql });
  });
  after(async () => {
    await db?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the repo ships several store test files', () => {
    assert.ok(shipped.length >= 3, shipped.join(', '));
  });

  for (const file of shipped) {
    test(`${file.split('/').at(-1)}: every assertion passes`, async () => {
      const results = await runStoreTestFile(authz, await readStoreTestFile(file));
      assert.ok(results.length >= 5);
      assert.deepEqual(
        results.filter((r) => !r.passed),
        [],
      );
    });
  }

  test('a wrong expectation fails and shows both answers', async () => {
    const file = join(dir, 'wrong.fga.yaml');
    writeFileSync(
      file,
      `model: |
  model
    schema 1.1
  type user
  type doc
    relations
      define viewer: [user]
tuples:
  - { user: user:a, relation: viewer, object: doc:1 }
tests:
  - name: wrong
    check:
      - { user: user:a, object: doc:1, assertions: { viewer: false } }
      - { user: user:a, object: doc:1, assertions: { nosuch: true } }
    list_objects:
      - { user: user:a, type: doc, assertions: { viewer: [doc:1, doc:2] } }
`,
    );
    const results = await runStoreTestFile(authz, await readStoreTestFile(file));
    assert.deepEqual(
      results.map((r) => [r.kind, r.passed, r.expected, r.actual.slice(0, 6)]),
      [
        ['check', false, 'false', 'true'],
        ['check', false, 'true', 'error:'],
        ['list_objects', false, '[doc:1, doc:2]', '[doc:1'],
      ],
    );
  });

  test('an invalid model fails every test of the file', async () => {
    const file = join(dir, 'bad-model.fga.yaml');
    writeFileSync(
      file,
      'model: "model\\n  schema 1.1\\ntype doc\\n  relations\\n    define viewer: [nobody]"\ntests: [{ name: t }]\n',
    );
    const results = await runStoreTestFile(authz, await readStoreTestFile(file));
    assert.equal(results.length, 1);
    assert.equal(results[0]?.passed, false);
    assert.match(results[0]?.actual ?? '', /^error: /);
  });

  test('model_file may be a modular model (fga.mod and its modules)', async () => {
    writeFileSync(join(dir, 'fga.mod'), 'schema: "1.2"\ncontents:\n  - core.fga\n  - docs.fga\n');
    writeFileSync(join(dir, 'core.fga'), 'module core\ntype user\n');
    writeFileSync(join(dir, 'docs.fga'), 'module docs\ntype doc\n  relations\n    define viewer: [user]\n');
    const file = join(dir, 'modular.fga.yaml');
    writeFileSync(
      file,
      'model_file: ./fga.mod\ntuples: [{ user: user:a, relation: viewer, object: doc:1 }]\ntests:\n  - check: [{ user: user:a, object: doc:1, assertions: { viewer: true } }]\n',
    );
    const results = await runStoreTestFile(authz, await readStoreTestFile(file));
    assert.deepEqual(
      results.map((r) => [r.query, r.passed]),
      [['user:a viewer doc:1', true]],
    );
  });

  test('a malformed file is refused with the field named', async () => {
    const file = join(dir, 'malformed.fga.yaml');
    writeFileSync(
      file,
      'model: "model\\n  schema 1.1\\ntype user"\ntests:\n  - check: [{ user: user:a, assertions: { viewer: true } }]\n',
    );
    await assert.rejects(readStoreTestFile(file), (err: Error) => {
      assert.ok(err instanceof StoreTestFileError);
      assert.match(err.message, /tests\[0\]\.check\[0\]\.object/);
      return true;
    });
    writeFileSync(file, 'tests: []\n');
    await assert.rejects(readStoreTestFile(file), /'model' or 'model_file'/);
  });
});
