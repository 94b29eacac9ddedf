import { errors, transformer, validator } from '@openfga/syntax-transformer';
import { authzErrors } from '../errors.ts';
import { compileCondition } from './condition.ts';
import type { AuthorizationModel } from './model-types.ts';

/**
 * Authorization models come in three forms, all read and validated by OpenFGA's own
 * `@openfga/syntax-transformer` (this package never parses the DSL itself):
 *
 * - `{ dsl }`: the DSL text (`model\n  schema 1.1\ntype user ...`);
 * - `{ json }`: the JSON form OpenFGA's API takes (`schema_version`, `type_definitions`, `conditions`);
 * - `{ modFile, files }`: a modular model (schema 1.2): the `fga.mod` text and the `.fga` files it lists.
 *
 * A model that does not validate is AUTHZ_INVALID_MODEL whose `details.errors` lists every problem with
 * its 1-based line and column (for the DSL and modules) and what is wrong; the message names the first.
 */
export type ModelSource =
  | { dsl: string }
  | { json: unknown }
  | { modFile: string; files: { name: string; contents: string }[] };

export interface ModelProblem {
  message: string;
  line?: number;
  column?: number;
  file?: string;
}

const supportedSchemaVersions = new Set(['1.1', '1.2']);

/** The model's JSON form, validated; throws AUTHZ_INVALID_MODEL or AUTHZ_UNSUPPORTED_SCHEMA_VERSION. */
export function parseModel(source: ModelSource): AuthorizationModel {
  const model =
    'dsl' in source
      ? fromDsl(source.dsl)
      : 'modFile' in source
        ? fromModules(source.modFile, source.files)
        : fromJson(source.json);
  // The transformer checks a condition's name and parameter types, not its CEL: compiling it does.
  for (const [name, definition] of Object.entries(model.conditions ?? {})) compileCondition(name, definition);
  return model;
}

function fromDsl(dsl: string): AuthorizationModel {
  if (typeof dsl !== 'string' || dsl.trim() === '') throw invalid([{ message: 'the model is empty' }]);
  const version = /^\s*model\s+schema\s+(\S+)/m.exec(dsl)?.[1];
  if (version !== undefined && !supportedSchemaVersions.has(version)) throw unsupported(version);
  try {
    validator.validateDSL(dsl);
    return transformer.transformDSLToJSONObject(dsl) as unknown as AuthorizationModel;
  } catch (err) {
    throw invalid(problemsOf(err));
  }
}

function fromModules(modFile: string, files: { name: string; contents: string }[]): AuthorizationModel {
  try {
    const mod = transformer.transformModFileToJSON(modFile);
    const listed = new Set(mod.contents.value.map((c) => c.value));
    for (const name of listed) {
      if (!files.some((f) => f.name === name)) {
        throw invalid([{ message: `fga.mod lists '${name}', which was not given`, file: 'fga.mod' }]);
      }
    }
    const model = transformer.transformModuleFilesToModel(
      files.filter((f) => listed.has(f.name)),
      mod.schema.value,
    ) as unknown as AuthorizationModel;
    return fromJson(model);
  } catch (err) {
    if (
      authzErrors.is(err, 'AUTHZ_INVALID_MODEL') ||
      authzErrors.is(err, 'AUTHZ_UNSUPPORTED_SCHEMA_VERSION')
    ) {
      throw err;
    }
    throw invalid(problemsOf(err));
  }
}

function fromJson(json: unknown): AuthorizationModel {
  const shapeProblem = jsonShapeProblem(json);
  if (shapeProblem) throw invalid([{ message: shapeProblem }]);
  const model = json as AuthorizationModel;
  if (!supportedSchemaVersions.has(model.schema_version)) throw unsupported(model.schema_version);
  try {
    // validateJSON writes the model out as DSL and validates that, so its positions are of that text.
    validator.validateJSON(model as never);
  } catch (err) {
    throw invalid(problemsOf(err));
  }
  return {
    schema_version: model.schema_version,
    type_definitions: model.type_definitions,
    ...(model.conditions && Object.keys(model.conditions).length > 0 ? { conditions: model.conditions } : {}),
  };
}

/** The JSON form's outline, checked before the validator walks it (it assumes a well-formed object). */
function jsonShapeProblem(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return 'the model must be a JSON object';
  const model = json as Record<string, unknown>;
  if (typeof model['schema_version'] !== 'string') return 'schema_version must be a string';
  const types = model['type_definitions'];
  if (!Array.isArray(types) || types.length === 0) return 'type_definitions must be a non-empty list';
  for (const [i, t] of types.entries()) {
    if (t === null || typeof t !== 'object' || typeof (t as { type?: unknown }).type !== 'string') {
      return `type_definitions[${i}] must be an object with a string 'type'`;
    }
    const relations = (t as { relations?: unknown }).relations;
    if (
      relations !== undefined &&
      relations !== null &&
      (typeof relations !== 'object' || Array.isArray(relations))
    ) {
      return `type_definitions[${i}].relations must be an object`;
    }
  }
  const conditions = model['conditions'];
  if (
    conditions !== undefined &&
    conditions !== null &&
    (typeof conditions !== 'object' || Array.isArray(conditions))
  ) {
    return 'conditions must be an object';
  }
  return undefined;
}

function problemsOf(err: unknown): ModelProblem[] {
  const list =
    err instanceof errors.BaseMultiError
      ? (err.errors as unknown[])
      : err instanceof errors.BaseError
        ? [err]
        : [];
  if (list.length === 0) return [{ message: (err as Error)?.message ?? String(err) }];
  return list.map((e) => {
    const single = e as errors.BaseError;
    const problem: ModelProblem = { message: single.msg ?? single.message };
    // The transformer counts lines and columns from 0; people count from 1.
    if (single.line) problem.line = single.line.start + 1;
    if (single.column) problem.column = single.column.start + 1;
    if (single.file) problem.file = single.file;
    return problem;
  });
}

function invalid(problems: ModelProblem[]): Error {
  const first = problems[0]!;
  const where = [
    first.file,
    first.line !== undefined ? `line ${first.line}` : undefined,
    first.column !== undefined ? `column ${first.column}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return authzErrors.create('AUTHZ_INVALID_MODEL', `${where ? `${where}: ` : ''}${first.message}${more}`, {
    details: { errors: problems },
  });
}

function unsupported(version: string): Error {
  return authzErrors.create(
    'AUTHZ_UNSUPPORTED_SCHEMA_VERSION',
    `schema version ${version} is not supported (use 1.1, or 1.2 for modular models)`,
  );
}
