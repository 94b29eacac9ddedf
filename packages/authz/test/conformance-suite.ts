import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { GatehouseError, Sql } from '@gatehouse/core';
import { parse } from 'yaml';
import { type Authz, createAuthz, openfgaErrorOf, type TupleKey } from '../src/index.ts';

/**
 * OpenFGA's own conformance tests (assets/tests/consolidated_1_1_tests.yaml), run through the engine on
 * one SQL storage. Each test gets a fresh store; its stages write a model and tuples (in chunks of 40,
 * as OpenFGA's harness does) and then every check, list-objects and list-users assertion is asserted,
 * expected errors by OpenFGA's numeric error code. Like OpenFGA's harness, each object a list-objects
 * answer names and each user a list-users answer names must also check true.
 *
 * A second pass (`<name> [contextual]`) sends a single-stage case's tuples as contextual tuples of
 * every request instead of writing them, as OpenFGA's harness does (for cases of at most 100 tuples,
 * the contextual-tuple limit).
 */
export const conformanceFile = fileURLToPath(
  new URL('../../../../shared/conformance/openfga/consolidated_1_1_tests.yaml', import.meta.url),
);

interface YamlTuple {
  object: string;
  relation: string;
  user: string;
  condition?: { name: string; context?: Record<string, unknown> };
}

interface Stage {
  model: string;
  tuples?: YamlTuple[] | null;
  checkAssertions?: {
    tuple: YamlTuple;
    expectation?: boolean;
    errorCode?: number;
    contextualTuples?: YamlTuple[];
    context?: Record<string, unknown>;
  }[];
  listObjectsAssertions?: {
    request: { user: string; type: string; relation: string };
    expectation?: string[] | null;
    errorCode?: number;
    contextualTuples?: YamlTuple[];
    context?: Record<string, unknown>;
  }[];
  listUsersAssertions?: {
    request: { object: string; relation: string; filters: string[] };
    expectation?: string[] | null;
    errorCode?: number;
    contextualTuples?: YamlTuple[];
    context?: Record<string, unknown>;
  }[];
}

export interface ConformanceCase {
  name: string;
  stages: Stage[];
}

/** The cases, or why they cannot be read (the caller fails under CI and skips otherwise). */
export function loadConformanceCases(): { cases: ConformanceCase[] } | { missing: string } {
  if (!existsSync(conformanceFile)) return { missing: `${conformanceFile} does not exist` };
  const doc = parse(readFileSync(conformanceFile, 'utf8')) as { tests: ConformanceCase[] };
  return { cases: doc.tests };
}

const toKey = (t: YamlTuple): TupleKey => ({
  object: t.object,
  relation: t.relation,
  user: t.user,
  ...(t.condition ? { condition: t.condition } : {}),
});

async function expectOpenfgaError(promise: Promise<unknown>, code: number, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const mapped = openfgaErrorOf(err as GatehouseError);
    assert.equal(mapped?.code, code, `${what}: expected OpenFGA error ${code}, got ${String(err)}`);
    return true;
  });
}

export function conformanceSuite(
  name: string,
  open: () => Promise<{ sql: Sql; close(): Promise<void> }>,
  options: { skip?: boolean | string; cases: ConformanceCase[]; counts: { assertions: number } },
): void {
  describe(name, { skip: options.skip ?? false }, () => {
    let db: { sql: Sql; close(): Promise<void> };
    let authz: Authz;
    before(async () => {
      db = await open();
      authz = createAuthz({ sql: db.sql });
    });
    after(() => db?.close());

    const variants = options.cases.flatMap((c) => [
      { c, contextual: false },
      ...(c.stages.length === 1 && (c.stages[0]!.tuples ?? []).length <= 100
        ? [{ c, contextual: true }]
        : []),
    ]);
    for (const { c, contextual } of variants) {
      test(contextual ? `${c.name} [contextual]` : c.name, async () => {
        const store = await authz.createStore({ name: `conformance ${c.name}`.slice(0, 64) });
        for (const [stageNumber, stage] of c.stages.entries()) {
          const where = `${c.name} stage ${stageNumber}`;
          const { authorizationModelId } = await authz.writeAuthorizationModel(store.id, {
            dsl: stage.model,
          });
          const tuples = (stage.tuples ?? []).map(toKey);
          const withStage = (extra: YamlTuple[] | undefined) => [
            ...(extra ?? []).map(toKey),
            ...(contextual ? tuples : []),
          ];
          for (let i = 0; !contextual && i < tuples.length; i += 40) {
            await authz.write(store.id, {
              authorizationModelId,
              writes: { tupleKeys: tuples.slice(i, i + 40) },
            });
          }
          for (const a of stage.checkAssertions ?? []) {
            options.counts.assertions++;
            const request = {
              authorizationModelId,
              tupleKey: { object: a.tuple.object, relation: a.tuple.relation, user: a.tuple.user },
              contextualTuples: withStage(a.contextualTuples),
              context: a.context,
            };
            const what = `${where}: check ${a.tuple.object}#${a.tuple.relation}@${a.tuple.user}`;
            if (a.errorCode) {
              await expectOpenfgaError(authz.check(store.id, request), a.errorCode, what);
            } else {
              const { allowed } = await authz.check(store.id, request);
              assert.equal(allowed, a.expectation ?? false, what);
            }
          }
          for (const a of stage.listObjectsAssertions ?? []) {
            options.counts.assertions++;
            const request = {
              authorizationModelId,
              ...a.request,
              contextualTuples: withStage(a.contextualTuples),
              context: a.context,
            };
            const what = `${where}: list objects ${a.request.type}#${a.request.relation}@${a.request.user}`;
            if (a.errorCode) {
              await expectOpenfgaError(authz.listObjects(store.id, request), a.errorCode, what);
              continue;
            }
            const { objects } = await authz.listObjects(store.id, request);
            assert.deepEqual([...objects].sort(), [...(a.expectation ?? [])].sort(), what);
            for (const object of objects) {
              const { allowed } = await authz.check(store.id, {
                authorizationModelId,
                tupleKey: { object, relation: a.request.relation, user: a.request.user },
                contextualTuples: request.contextualTuples,
                context: a.context,
              });
              assert.equal(allowed, true, `${what}: listed ${object} must check true`);
            }
          }
          for (const a of stage.listUsersAssertions ?? []) {
            options.counts.assertions++;
            const colon = a.request.object.indexOf(':');
            const request = {
              authorizationModelId,
              object: { type: a.request.object.slice(0, colon), id: a.request.object.slice(colon + 1) },
              relation: a.request.relation,
              userFilters: a.request.filters.map((f) => {
                const hash = f.indexOf('#');
                return hash < 0 ? { type: f } : { type: f.slice(0, hash), relation: f.slice(hash + 1) };
              }),
              contextualTuples: withStage(a.contextualTuples),
              context: a.context,
            };
            const what = `${where}: list users ${a.request.object}#${a.request.relation} filters ${a.request.filters.join(',')}`;
            if (a.errorCode) {
              await expectOpenfgaError(authz.listUsers(store.id, request), a.errorCode, what);
              continue;
            }
            const { users } = await authz.listUsers(store.id, request);
            assert.deepEqual([...users].sort(), [...(a.expectation ?? [])].sort(), what);
            for (const user of users) {
              const { allowed } = await authz.check(store.id, {
                authorizationModelId,
                tupleKey: { object: a.request.object, relation: a.request.relation, user },
                contextualTuples: request.contextualTuples,
                context: a.context,
              });
              assert.equal(allowed, true, `${what}: listed ${user} must check true`);
            }
          }
        }
        await authz.deleteStore(store.id);
      });
    }
  });
}
