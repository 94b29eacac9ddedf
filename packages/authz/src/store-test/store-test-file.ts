import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ModelSource } from '../model/parse-model.ts';
import type { TupleKey } from '../tuple-key.ts';

/**
 * OpenFGA's store test file (`fga model test --tests FILE.fga.yaml`): a model (`model` inline or
 * `model_file`: DSL, JSON, or an `fga.mod` with its modules), tuples (`tuples` or `tuple_file`), and tests of check, list_objects and list_users
 * assertions, each test with its own extra tuples; checks and lists may carry `context` and
 * `contextual_tuples`.
 */
export interface StoreTestFile {
  name: string;
  model: ModelSource;
  tuples: TupleKey[];
  tests: StoreTest[];
}

export interface StoreTest {
  name: string;
  tuples: TupleKey[];
  check: {
    user: string;
    object: string;
    context?: Record<string, unknown>;
    contextualTuples: TupleKey[];
    assertions: Record<string, boolean>;
  }[];
  listObjects: {
    user: string;
    type: string;
    context?: Record<string, unknown>;
    contextualTuples: TupleKey[];
    assertions: Record<string, string[]>;
  }[];
  listUsers: {
    object: string;
    userFilter: { type: string; relation?: string }[];
    context?: Record<string, unknown>;
    contextualTuples: TupleKey[];
    assertions: Record<string, string[]>;
  }[];
}

/** A store test file that cannot be read: the message names the file and the field. */
export class StoreTestFileError extends Error {}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new StoreTestFileError(`${where} must be a list`);
  return v;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new StoreTestFileError(`${where} must be a non-empty string`);
  return v;
}

function tupleOf(v: unknown, where: string): TupleKey {
  if (!isObject(v)) throw new StoreTestFileError(`${where} must be a tuple (user, relation, object)`);
  const key: TupleKey = {
    user: text(v['user'], `${where}.user`),
    relation: text(v['relation'], `${where}.relation`),
    object: text(v['object'], `${where}.object`),
  };
  if (isObject(v['condition'])) {
    const c = v['condition'];
    key.condition = {
      name: text(c['name'], `${where}.condition.name`),
      ...(isObject(c['context']) ? { context: c['context'] } : {}),
    };
  }
  return key;
}

const tuplesOf = (v: unknown, where: string) => list(v, where).map((t, i) => tupleOf(t, `${where}[${i}]`));

function contextOf(v: unknown, where: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new StoreTestFileError(`${where} must be a map`);
  return v;
}

function assertionsOf<T>(v: unknown, where: string, each: (a: unknown, w: string) => T): Record<string, T> {
  if (!isObject(v)) throw new StoreTestFileError(`${where} must be a map of relation to expectation`);
  return Object.fromEntries(Object.entries(v).map(([rel, a]) => [rel, each(a, `${where}.${rel}`)]));
}

const strings = (a: unknown, w: string) => list(a, w).map((s, i) => text(s, `${w}[${i}]`));

/** Tuples from a file: YAML or JSON (a list of { user, relation, object, condition? }) or OpenFGA's CSV. */
export async function readTupleFile(path: string): Promise<TupleKey[]> {
  const raw = await readFile(path, 'utf8');
  if (path.endsWith('.csv')) {
    const [header, ...rows] = raw.split(/\r?\n/).filter((l) => l.trim() !== '');
    const names = (header ?? '').split(',').map((h) => h.trim());
    return rows.map((row, i) => {
      const cells = row.split(',').map((c) => c.trim());
      const get = (n: string) => cells[names.indexOf(n)];
      const user = get('user_type')
        ? `${get('user_type')}:${get('user_id')}${get('user_relation') ? `#${get('user_relation')}` : ''}`
        : get('user');
      const object = get('object_type') ? `${get('object_type')}:${get('object_id')}` : get('object');
      return tupleOf({ user, relation: get('relation'), object }, `${path}:${i + 2}`);
    });
  }
  return tuplesOf(parseYaml(raw), path);
}

/** A modular model: the fga.mod and the module files it lists, read relative to it. */
async function modularModel(modPath: string, modFile: string): Promise<ModelSource> {
  const mod = parseYaml(modFile) as { contents?: unknown } | null;
  const names = list(mod?.contents, `${modPath}: contents`).map((n, i) =>
    text(n, `${modPath}: contents[${i}]`),
  );
  const files = await Promise.all(
    names.map(async (name) => ({ name, contents: await readFile(resolve(dirname(modPath), name), 'utf8') })),
  );
  return { modFile, files };
}

/** Read a store test file; `model_file` and `tuple_file` are relative to it. */
export async function readStoreTestFile(path: string): Promise<StoreTestFile> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new StoreTestFileError(`${path}: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new StoreTestFileError(`${path}: the file must be a YAML map`);
  const dir = dirname(path);
  let model: ModelSource;
  if (typeof doc['model'] === 'string') model = { dsl: doc['model'] };
  else if (typeof doc['model_file'] === 'string') {
    const file = resolve(dir, doc['model_file']);
    const contents = await readFile(file, 'utf8');
    model = file.endsWith('.json')
      ? { json: JSON.parse(contents) }
      : file.endsWith('fga.mod')
        ? await modularModel(file, contents)
        : { dsl: contents };
  } else throw new StoreTestFileError(`${path}: give the model as 'model' or 'model_file'`);
  const tuples = tuplesOf(doc['tuples'], 'tuples');
  for (const file of typeof doc['tuple_file'] === 'string'
    ? [doc['tuple_file']]
    : list(doc['tuple_files'], 'tuple_files')) {
    tuples.push(...(await readTupleFile(resolve(dir, text(file, 'tuple_file')))));
  }
  const tests = list(doc['tests'], 'tests').map((t, i): StoreTest => {
    const where = `tests[${i}]`;
    if (!isObject(t)) throw new StoreTestFileError(`${where} must be a map`);
    return {
      name: typeof t['name'] === 'string' ? t['name'] : `test ${i + 1}`,
      tuples: tuplesOf(t['tuples'], `${where}.tuples`),
      check: list(t['check'], `${where}.check`).map((c, j) => {
        const w = `${where}.check[${j}]`;
        if (!isObject(c)) throw new StoreTestFileError(`${w} must be a map`);
        return {
          user: text(c['user'], `${w}.user`),
          object: text(c['object'], `${w}.object`),
          context: contextOf(c['context'], `${w}.context`),
          contextualTuples: tuplesOf(c['contextual_tuples'], `${w}.contextual_tuples`),
          assertions: assertionsOf(c['assertions'], `${w}.assertions`, (a, aw) => {
            if (typeof a !== 'boolean') throw new StoreTestFileError(`${aw} must be true or false`);
            return a;
          }),
        };
      }),
      listObjects: list(t['list_objects'], `${where}.list_objects`).map((c, j) => {
        const w = `${where}.list_objects[${j}]`;
        if (!isObject(c)) throw new StoreTestFileError(`${w} must be a map`);
        return {
          user: text(c['user'], `${w}.user`),
          type: text(c['type'], `${w}.type`),
          context: contextOf(c['context'], `${w}.context`),
          contextualTuples: tuplesOf(c['contextual_tuples'], `${w}.contextual_tuples`),
          assertions: assertionsOf(c['assertions'], `${w}.assertions`, strings),
        };
      }),
      listUsers: list(t['list_users'], `${where}.list_users`).map((c, j) => {
        const w = `${where}.list_users[${j}]`;
        if (!isObject(c)) throw new StoreTestFileError(`${w} must be a map`);
        return {
          object: text(c['object'], `${w}.object`),
          userFilter: list(c['user_filter'], `${w}.user_filter`).map((f, k) => {
            if (!isObject(f)) throw new StoreTestFileError(`${w}.user_filter[${k}] must be a map`);
            return {
              type: text(f['type'], `${w}.user_filter[${k}].type`),
              ...(typeof f['relation'] === 'string' ? { relation: f['relation'] } : {}),
            };
          }),
          context: contextOf(c['context'], `${w}.context`),
          contextualTuples: tuplesOf(c['contextual_tuples'], `${w}.contextual_tuples`),
          assertions: assertionsOf(c['assertions'], `${w}.assertions`, (a, aw) => {
            if (!isObject(a)) throw new StoreTestFileError(`${aw} must be a map with 'users'`);
            return strings(a['users'], `${aw}.users`);
          }),
        };
      }),
    };
  });
  return { name: typeof doc['name'] === 'string' ? doc['name'] : path, model, tuples, tests };
}
