import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileCondition } from '../src/model/condition.ts';

const param = (type_name: string, generic?: string) => ({
  type_name,
  ...(generic ? { generic_types: [{ type_name: generic }] } : {}),
});

function condition(expression: string, parameters: Record<string, ReturnType<typeof param>>) {
  return compileCondition('c', { name: 'c', expression, parameters });
}

const code = (expected: string) => (err: { code?: string }) => {
  assert.equal(err.code, expected);
  return true;
};

describe('conditions (CEL through @bufbuild/cel)', () => {
  test('each OpenFGA parameter type converts from its JSON form', () => {
    const cases: [string, Record<string, ReturnType<typeof param>>, Record<string, unknown>][] = [
      ['n > 2', { n: param('TYPE_NAME_INT') }, { n: 3 }],
      ['n > 2', { n: param('TYPE_NAME_INT') }, { n: '3' }],
      ['u > 2u', { u: param('TYPE_NAME_UINT') }, { u: 3 }],
      ['d > 2.5', { d: param('TYPE_NAME_DOUBLE') }, { d: 2.75 }],
      ['b', { b: param('TYPE_NAME_BOOL') }, { b: true }],
      ['s.startsWith("ab")', { s: param('TYPE_NAME_STRING') }, { s: 'abc' }],
      [
        'now < expires',
        { now: param('TYPE_NAME_TIMESTAMP'), expires: param('TYPE_NAME_TIMESTAMP') },
        { now: '2026-01-01T00:00:00Z', expires: '2027-01-01T00:00:00Z' },
      ],
      ['ttl > duration("1h")', { ttl: param('TYPE_NAME_DURATION') }, { ttl: '90m' }],
      ['ip.in_cidr("10.0.0.0/8")', { ip: param('TYPE_NAME_IPADDRESS') }, { ip: '10.1.2.3' }],
      ['"b" in xs', { xs: param('TYPE_NAME_LIST', 'TYPE_NAME_STRING') }, { xs: ['a', 'b'] }],
      ['m["k"] == 2', { m: param('TYPE_NAME_MAP', 'TYPE_NAME_INT') }, { m: { k: 2 } }],
      ['a.x == "y"', { a: param('TYPE_NAME_ANY') }, { a: { x: 'y' } }],
    ];
    for (const [expression, parameters, context] of cases) {
      assert.equal(condition(expression, parameters).evaluate(context, 100), true, expression);
    }
    assert.equal(
      condition('ip.in_cidr("10.0.0.0/8")', { ip: param('TYPE_NAME_IPADDRESS') }).evaluate(
        { ip: '192.168.0.1' },
        100,
      ),
      false,
    );
  });

  test('a value that does not convert to its type is AUTHZ_CONDITION_INVALID', () => {
    const bad: [Record<string, ReturnType<typeof param>>, Record<string, unknown>][] = [
      [{ n: param('TYPE_NAME_INT') }, { n: 1.5 }],
      [{ n: param('TYPE_NAME_INT') }, { n: 'x' }],
      [{ n: param('TYPE_NAME_UINT') }, { n: -1 }],
      [{ n: param('TYPE_NAME_BOOL') }, { n: 'true' }],
      [{ n: param('TYPE_NAME_TIMESTAMP') }, { n: 'yesterday' }],
      [{ n: param('TYPE_NAME_DURATION') }, { n: 'forever' }],
      [{ n: param('TYPE_NAME_IPADDRESS') }, { n: '300.1.1.1' }],
      [{ n: param('TYPE_NAME_LIST', 'TYPE_NAME_INT') }, { n: [1, 'two'] }],
      [{ n: param('TYPE_NAME_MAP', 'TYPE_NAME_INT') }, { n: [1] }],
    ];
    for (const [parameters, context] of bad) {
      assert.throws(
        () => condition('n == n', parameters).evaluate(context, 100),
        code('AUTHZ_CONDITION_INVALID'),
        JSON.stringify(context),
      );
    }
  });

  test('a missing parameter is reported unless the expression decides without it', () => {
    const c = condition('a || b', { a: param('TYPE_NAME_BOOL'), b: param('TYPE_NAME_BOOL') });
    assert.equal(c.evaluate({ a: true }, 100), true);
    assert.throws(
      () => c.evaluate({ a: false }, 100),
      (err: { code?: string; message: string }) => {
        assert.equal(err.code, 'AUTHZ_CONDITION_MISSING_PARAMETERS');
        assert.match(err.message, /context is missing parameters 'b'/);
        return true;
      },
    );
  });

  test('an expression that is not a bool, or fails at run time, is AUTHZ_CONDITION_INVALID', () => {
    assert.throws(
      () => condition('n + 1', { n: param('TYPE_NAME_INT') }).evaluate({ n: 1 }, 100),
      code('AUTHZ_CONDITION_INVALID'),
    );
    assert.throws(
      () => condition('n / 0 == 1', { n: param('TYPE_NAME_INT') }).evaluate({ n: 1 }, 100),
      code('AUTHZ_CONDITION_INVALID'),
    );
  });

  test('the cost grows with the lists a macro iterates and is refused beyond the limit', () => {
    const c = condition('xs.all(x, x > 0)', { xs: param('TYPE_NAME_LIST', 'TYPE_NAME_INT') });
    assert.equal(c.evaluate({ xs: [1, 2, 3] }, 100), true);
    assert.throws(
      () => c.evaluate({ xs: Array.from({ length: 500 }, () => 1) }, 100),
      code('AUTHZ_CONDITION_COST_EXCEEDED'),
    );
    assert.equal(c.evaluate({ xs: Array.from({ length: 500 }, () => 1) }, 10_000), true);
  });

  test('a written context is checked against the declared parameters', () => {
    const c = condition('n > 1', { n: param('TYPE_NAME_INT') });
    c.checkContext({ n: 2 });
    assert.throws(() => c.checkContext({ m: 2 }), code('AUTHZ_CONDITION_INVALID'));
    assert.throws(() => c.checkContext({ n: 'two' }), code('AUTHZ_CONDITION_INVALID'));
  });
});
