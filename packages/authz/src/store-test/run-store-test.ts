import type { Authz } from '../authz.ts';
import type { StoreTestFile } from './store-test-file.ts';

/** One assertion's outcome: what was asked, what was expected, what the engine answered. */
export interface StoreTestResult {
  test: string;
  kind: 'check' | 'list_objects' | 'list_users';
  /** e.g. `user:anne viewer document:plan`. */
  query: string;
  expected: string;
  actual: string;
  passed: boolean;
}

const show = (v: boolean | string[]) =>
  typeof v === 'boolean' ? String(v) : `[${[...v].sort().join(', ')}]`;

/**
 * Run a store test file against the engine: each test gets a fresh store with the model, the file's
 * tuples and the test's own. An assertion whose request fails counts as failed, with the error shown.
 */
export async function runStoreTestFile(authz: Authz, file: StoreTestFile): Promise<StoreTestResult[]> {
  const results: StoreTestResult[] = [];
  for (const test of file.tests) {
    const { id: storeId } = await authz.createStore({ name: 'store test' });
    try {
      await authz.writeAuthorizationModel(storeId, file.model);
      const tuples = [...file.tuples, ...test.tuples];
      for (let i = 0; i < tuples.length; i += authz.limits.maxTuplesPerWrite) {
        await authz.write(storeId, {
          writes: { tupleKeys: tuples.slice(i, i + authz.limits.maxTuplesPerWrite) },
        });
      }
      const record = async (
        kind: StoreTestResult['kind'],
        query: string,
        expected: boolean | string[],
        ask: () => Promise<boolean | string[]>,
      ) => {
        let actual: string;
        let passed: boolean;
        try {
          const answer = await ask();
          actual = show(answer);
          passed = actual === show(expected);
        } catch (err) {
          actual = `error: ${(err as Error).message}`;
          passed = false;
        }
        results.push({ test: test.name, kind, query, expected: show(expected), actual, passed });
      };
      for (const c of test.check) {
        for (const [relation, expected] of Object.entries(c.assertions)) {
          await record('check', `${c.user} ${relation} ${c.object}`, expected, async () => {
            const { allowed } = await authz.check(storeId, {
              tupleKey: { user: c.user, relation, object: c.object },
              context: c.context,
              contextualTuples: c.contextualTuples,
            });
            return allowed;
          });
        }
      }
      for (const l of test.listObjects) {
        for (const [relation, expected] of Object.entries(l.assertions)) {
          await record('list_objects', `${l.user} ${relation} ${l.type}:?`, expected, async () => {
            const { objects } = await authz.listObjects(storeId, {
              user: l.user,
              relation,
              type: l.type,
              context: l.context,
              contextualTuples: l.contextualTuples,
            });
            return objects;
          });
        }
      }
      for (const l of test.listUsers) {
        const colon = l.object.indexOf(':');
        for (const [relation, expected] of Object.entries(l.assertions)) {
          const filter = l.userFilter.map((f) => (f.relation ? `${f.type}#${f.relation}` : f.type)).join(',');
          await record('list_users', `${filter}:? ${relation} ${l.object}`, expected, async () => {
            const { users } = await authz.listUsers(storeId, {
              object: { type: l.object.slice(0, colon), id: l.object.slice(colon + 1) },
              relation,
              userFilters: l.userFilter,
              context: l.context,
              contextualTuples: l.contextualTuples,
            });
            return users;
          });
        }
      }
    } catch (err) {
      results.push({
        test: test.name,
        kind: 'check',
        query: 'loading the model and tuples',
        expected: 'loaded',
        actual: `error: ${(err as Error).message}`,
        passed: false,
      });
    } finally {
      await authz.deleteStore(storeId);
    }
  }
  return results;
}
