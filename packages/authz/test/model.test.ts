import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseModel } from '../src/index.ts';

const dsl = (body: string) => `model\n  schema 1.1\ntype user\n${body}`;

function rejectsWith(source: Parameters<typeof parseModel>[0], code: string, message: RegExp) {
  assert.throws(
    () => parseModel(source),
    (err: { code?: string; status?: number; message: string }) => {
      assert.equal(err.code, code);
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('authorization models', () => {
  test('a DSL model becomes the JSON form OpenFGA uses', () => {
    const model = parseModel({ dsl: dsl('type doc\n  relations\n    define viewer: [user, user:*]\n') });
    assert.equal(model.schema_version, '1.1');
    assert.deepEqual(model.type_definitions[1]?.relations, { viewer: { this: {} } });
    assert.deepEqual(
      model.type_definitions[1]?.metadata?.relations?.['viewer']?.directly_related_user_types,
      [{ type: 'user' }, { type: 'user', wildcard: {} }],
    );
  });

  test('a syntax error names its 1-based line and column', () => {
    rejectsWith(
      { dsl: dsl('type doc\n  relations\n    define viewer: [user\n') },
      'AUTHZ_INVALID_MODEL',
      /^line \d+, column \d+: mismatched input/,
    );
  });

  test('an undefined relation is refused with where it is used', () => {
    rejectsWith(
      { dsl: dsl('type doc\n  relations\n    define viewer: editor\n') },
      'AUTHZ_INVALID_MODEL',
      /^line 6, column 20: the relation `editor` does not exist/,
    );
  });

  test('every problem is listed in details.errors', () => {
    try {
      parseModel({ dsl: dsl('type doc\n  relations\n    define a: b\n    define b: a\n') });
      assert.fail('a model without entry points was accepted');
    } catch (err) {
      const errors = (err as { details: { errors: { line: number; message: string }[] } }).details.errors;
      assert.deepEqual(
        errors.map((e) => e.line),
        [6, 7],
      );
      assert.match(errors[0]!.message, /impossible relation/);
    }
  });

  test('a schema version other than 1.1 or 1.2 is refused', () => {
    rejectsWith({ dsl: 'model\n  schema 1.0\ntype user\n' }, 'AUTHZ_UNSUPPORTED_SCHEMA_VERSION', /1\.0/);
    rejectsWith(
      { json: { schema_version: '2.0', type_definitions: [{ type: 'user' }] } },
      'AUTHZ_UNSUPPORTED_SCHEMA_VERSION',
      /2\.0/,
    );
  });

  test('the JSON form is validated by the same rules', () => {
    const json = {
      schema_version: '1.1',
      type_definitions: [
        { type: 'user' },
        {
          type: 'doc',
          relations: { viewer: { this: {} } },
          metadata: { relations: { viewer: { directly_related_user_types: [{ type: 'group' }] } } },
        },
      ],
    };
    rejectsWith({ json }, 'AUTHZ_INVALID_MODEL', /`group` is not a valid type/);
  });

  test('a JSON model of the wrong shape is refused before the validator walks it', () => {
    rejectsWith({ json: 'model' }, 'AUTHZ_INVALID_MODEL', /must be a JSON object/);
    rejectsWith(
      { json: { schema_version: '1.1', type_definitions: 'x' } },
      'AUTHZ_INVALID_MODEL',
      /non-empty list/,
    );
    rejectsWith(
      { json: { schema_version: '1.1', type_definitions: [{ name: 'user' }] } },
      'AUTHZ_INVALID_MODEL',
      /type_definitions\[0\]/,
    );
  });

  test('a modular model (fga.mod, schema 1.2) joins its files; an error names the file', () => {
    const model = parseModel({
      modFile: 'schema: "1.2"\ncontents:\n  - core.fga\n  - docs.fga\n',
      files: [
        { name: 'core.fga', contents: 'module core\ntype user\n' },
        { name: 'docs.fga', contents: 'module docs\ntype doc\n  relations\n    define viewer: [user]\n' },
      ],
    });
    assert.equal(model.schema_version, '1.2');
    assert.deepEqual(
      model.type_definitions.map((t) => t.type),
      ['user', 'doc'],
    );
    rejectsWith(
      {
        modFile: 'schema: "1.2"\ncontents:\n  - core.fga\n',
        files: [
          {
            name: 'core.fga',
            contents: 'module core\ntype user\ntype doc\n  relations\n    define v: [group]\n',
          },
        ],
      },
      'AUTHZ_INVALID_MODEL',
      /^core\.fga, line 5, column \d+: `group` is not a valid type/,
    );
    rejectsWith(
      { modFile: 'schema: "1.2"\ncontents:\n  - missing.fga\n', files: [] },
      'AUTHZ_INVALID_MODEL',
      /lists 'missing\.fga'/,
    );
  });

  test('a condition must parse as CEL and use only its parameters', () => {
    const withCondition = (expr: string) =>
      dsl(`type doc\n  relations\n    define viewer: [user with c]\ncondition c(x: int) {\n  ${expr}\n}\n`);
    assert.ok(parseModel({ dsl: withCondition('x > 1') }).conditions?.['c']);
    rejectsWith(
      { dsl: withCondition('y > 1') },
      'AUTHZ_INVALID_MODEL',
      /condition 'c': the expression uses 'y'/,
    );
    rejectsWith(
      { dsl: withCondition('x >') },
      'AUTHZ_INVALID_MODEL',
      /condition 'c': the expression does not parse/,
    );
  });
});
