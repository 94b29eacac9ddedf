import { BlockList, isIP } from 'node:net';
import { type CelInput, CelScalar, celEnv, celMethod, isCelError, parse, plan, run } from '@bufbuild/cel';
import { authzErrors } from '../errors.ts';
import type { ConditionDefinition, ConditionParameterType } from './model-types.ts';

/**
 * Conditions as OpenFGA defines them: a CEL expression over typed parameters. The parameters' values
 * come from the tuple's context merged over the request's context (the tuple's own values win). The
 * expression is parsed and its identifiers checked when the model is written; it runs with
 * `@bufbuild/cel`.
 *
 * - Each parameter value is converted to its declared type (int, uint, double, bool, string, duration,
 *   timestamp, ipaddress, list<T>, map<T>, any); a value that does not convert is an
 *   AUTHZ_CONDITION_INVALID error naming the parameter.
 * - A parameter the expression needs but neither context carries is AUTHZ_CONDITION_MISSING_PARAMETERS,
 *   unless the expression decides without it (`a || b` with `a` true), as OpenFGA's partial evaluation does.
 * - An expression that does not yield a bool is AUTHZ_CONDITION_INVALID.
 * - Cost: the library does not meter evaluation, so the engine bounds it before running: one unit per
 *   expression node, and each macro over a list or map (`all`, `exists`, `map`, `filter`) costs its
 *   body's size for every element it iterates. Beyond the limit, AUTHZ_CONDITION_COST_EXCEEDED.
 */
export interface CompiledCondition {
  readonly name: string;
  readonly parameters: Readonly<Record<string, ConditionParameterType>>;
  /** True / false, or throws one of the condition errors. */
  evaluate(context: Record<string, unknown>, costLimit: number): boolean;
  /** Throws AUTHZ_CONDITION_INVALID for a context value that is not a parameter or not of its type. */
  checkContext(context: Record<string, unknown>): void;
}

const ipaddressInCidr = celMethod(
  'in_cidr',
  CelScalar.STRING,
  [CelScalar.STRING],
  CelScalar.BOOL,
  function (cidr) {
    return ipInCidr(this, cidr);
  },
);
const env = celEnv({ funcs: [ipaddressInCidr] });

const identifierPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const maxExpressionLength = 8_192;

type Expr = ReturnType<typeof parse>['expr'];

/** Compile one condition of a model; throws AUTHZ_INVALID_MODEL naming the condition. */
export function compileCondition(name: string, definition: ConditionDefinition): CompiledCondition {
  const invalid = (what: string) =>
    authzErrors.create('AUTHZ_INVALID_MODEL', `condition '${name}': ${what}`, {
      details: { condition: name },
    });
  if (typeof definition.expression !== 'string' || definition.expression.trim() === '') {
    throw invalid('the expression is empty');
  }
  if (definition.expression.length > maxExpressionLength) {
    throw invalid(`the expression is longer than ${maxExpressionLength} characters`);
  }
  const parameters = definition.parameters ?? {};
  for (const [param, type] of Object.entries(parameters)) {
    if (!identifierPattern.test(param)) throw invalid(`parameter name '${param}' is not an identifier`);
    checkParameterType(type, (what) => invalid(`parameter '${param}': ${what}`));
  }
  let ast: Expr;
  try {
    ast = parse(definition.expression).expr;
  } catch (err) {
    throw invalid(`the expression does not parse: ${(err as Error).message}`);
  }
  const referenced = freeIdentifiers(ast);
  for (const ident of referenced) {
    if (!(ident in parameters)) throw invalid(`the expression uses '${ident}', which is not a parameter`);
  }
  const program = plan(env, ast);
  const staticCost = nodeCount(ast);
  return {
    name,
    parameters,
    checkContext(context) {
      for (const [param, value] of Object.entries(context)) {
        const type = parameters[param];
        if (!type) {
          throw authzErrors.create('AUTHZ_CONDITION_INVALID', `found invalid context parameter: ${param}`);
        }
        convertParameter(name, param, type, value);
      }
    },
    evaluate(context, costLimit) {
      const bindings: Record<string, CelInput> = {};
      const missing: string[] = [];
      for (const param of referenced) {
        if (!(param in context) || context[param] === undefined) {
          missing.push(param);
          continue;
        }
        bindings[param] = convertParameter(name, param, parameters[param]!, context[param]);
      }
      const cost = staticCost + iterationCost(ast, bindings);
      if (cost > costLimit) {
        throw authzErrors.create(
          'AUTHZ_CONDITION_COST_EXCEEDED',
          `condition '${name}' would cost ${cost}, beyond the limit of ${costLimit}`,
        );
      }
      const result = program(bindings);
      if (isCelError(result)) {
        if (missing.length > 0) {
          throw authzErrors.create(
            'AUTHZ_CONDITION_MISSING_PARAMETERS',
            `failed to evaluate relationship condition '${name}': context is missing parameters '${missing.sort().join(', ')}'`,
            { details: { condition: name, missing } },
          );
        }
        throw authzErrors.create(
          'AUTHZ_CONDITION_INVALID',
          `failed to evaluate relationship condition '${name}': ${result.message}`,
        );
      }
      if (typeof result !== 'boolean') {
        throw authzErrors.create('AUTHZ_CONDITION_INVALID', `condition '${name}' did not evaluate to a bool`);
      }
      return result;
    },
  };
}

const scalarTypes = new Set([
  'TYPE_NAME_ANY',
  'TYPE_NAME_BOOL',
  'TYPE_NAME_STRING',
  'TYPE_NAME_INT',
  'TYPE_NAME_UINT',
  'TYPE_NAME_DOUBLE',
  'TYPE_NAME_DURATION',
  'TYPE_NAME_TIMESTAMP',
  'TYPE_NAME_IPADDRESS',
]);

function checkParameterType(type: ConditionParameterType, fail: (what: string) => Error): void {
  if (!type || typeof type.type_name !== 'string') throw fail('the type is missing');
  if (type.type_name === 'TYPE_NAME_LIST' || type.type_name === 'TYPE_NAME_MAP') {
    const generic = type.generic_types ?? [];
    if (generic.length !== 1) throw fail(`${type.type_name} needs exactly one generic type`);
    checkParameterType(generic[0]!, fail);
    return;
  }
  if (!scalarTypes.has(type.type_name)) throw fail(`unknown type ${type.type_name}`);
}

/** Convert a JSON context value to the CEL value of its declared type. */
function convertParameter(
  condition: string,
  param: string,
  type: ConditionParameterType,
  value: unknown,
): CelInput {
  const bad = (why: string) =>
    authzErrors.create('AUTHZ_CONDITION_INVALID', `condition '${condition}': parameter '${param}' ${why}`, {
      details: { condition, parameter: param },
    });
  switch (type.type_name) {
    case 'TYPE_NAME_ANY':
      return toDynamic(value);
    case 'TYPE_NAME_BOOL':
      if (typeof value !== 'boolean') throw bad('must be a bool');
      return value;
    case 'TYPE_NAME_STRING':
      if (typeof value !== 'string') throw bad('must be a string');
      return value;
    case 'TYPE_NAME_INT': {
      const n = toInteger(value);
      if (n === undefined || n < -(2n ** 63n) || n >= 2n ** 63n) throw bad('must be an int');
      return n;
    }
    case 'TYPE_NAME_UINT': {
      const n = toInteger(value);
      if (n === undefined || n < 0n || n >= 2n ** 64n) throw bad('must be a uint');
      const uint = run('uint(n)', { n });
      if (isCelError(uint)) throw bad('must be a uint');
      return uint as CelInput;
    }
    case 'TYPE_NAME_DOUBLE': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw bad('must be a double');
      return n;
    }
    case 'TYPE_NAME_DURATION':
    case 'TYPE_NAME_TIMESTAMP': {
      if (typeof value !== 'string')
        throw bad(`must be a ${type.type_name === 'TYPE_NAME_DURATION' ? 'duration' : 'timestamp'} string`);
      const fn = type.type_name === 'TYPE_NAME_DURATION' ? 'duration' : 'timestamp';
      const converted = run(`${fn}(s)`, { s: value });
      if (isCelError(converted)) throw bad(`is not a valid ${fn}: ${value}`);
      return converted as CelInput;
    }
    case 'TYPE_NAME_IPADDRESS':
      if (typeof value !== 'string' || isIP(value) === 0) throw bad('must be an IP address');
      return value;
    case 'TYPE_NAME_LIST': {
      if (!Array.isArray(value)) throw bad('must be a list');
      const element = type.generic_types![0]!;
      return value.map((v, i) => convertParameter(condition, `${param}[${i}]`, element, v));
    }
    case 'TYPE_NAME_MAP': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('must be a map');
      const element = type.generic_types![0]!;
      const map = new Map<string, CelInput>();
      for (const [k, v] of Object.entries(value))
        map.set(k, convertParameter(condition, `${param}.${k}`, element, v));
      return map;
    }
    default:
      throw bad(`has the unknown type ${type.type_name}`);
  }
}

function toInteger(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  return undefined;
}

/** A JSON value as CEL's dynamic value: numbers are doubles, objects maps (google.protobuf.Value's mapping). */
function toDynamic(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toDynamic);
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, toDynamic(v)]));
  }
  return value as CelInput;
}

function ipInCidr(ip: string, cidr: string): boolean {
  const slash = cidr.indexOf('/');
  const network = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIP(network);
  const prefix = slash < 0 ? (family === 6 ? 128 : 32) : Number(cidr.slice(slash + 1));
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
    throw new Error(`invalid CIDR ${cidr}`);
  }
  const ipFamily = isIP(ip);
  if (ipFamily !== family) return false;
  const list = new BlockList();
  list.addSubnet(network, prefix, family === 6 ? 'ipv6' : 'ipv4');
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** Identifiers the expression reads from its bindings (not comprehension variables). */
function freeIdentifiers(root: Expr): Set<string> {
  const found = new Set<string>();
  const walk = (e: Expr | undefined, bound: ReadonlySet<string>): void => {
    if (!e) return;
    const kind = e.exprKind;
    switch (kind.case) {
      case 'identExpr':
        if (!bound.has(kind.value.name)) found.add(kind.value.name);
        return;
      case 'selectExpr':
        walk(kind.value.operand, bound);
        return;
      case 'callExpr':
        walk(kind.value.target, bound);
        for (const a of kind.value.args) walk(a, bound);
        return;
      case 'listExpr':
        for (const a of kind.value.elements) walk(a, bound);
        return;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value, bound);
          walk(entry.value, bound);
        }
        return;
      case 'comprehensionExpr': {
        const c = kind.value;
        walk(c.iterRange, bound);
        walk(c.accuInit, bound);
        const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
        walk(c.loopCondition, inner);
        walk(c.loopStep, inner);
        walk(c.result, inner);
        return;
      }
      default:
        return;
    }
  };
  walk(root, new Set());
  return found;
}

function nodeCount(e: Expr | undefined): number {
  if (!e) return 0;
  const kind = e.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return 1 + nodeCount(kind.value.operand);
    case 'callExpr':
      return 1 + nodeCount(kind.value.target) + kind.value.args.reduce((n, a) => n + nodeCount(a), 0);
    case 'listExpr':
      return 1 + kind.value.elements.reduce((n, a) => n + nodeCount(a), 0);
    case 'structExpr':
      return (
        1 +
        kind.value.entries.reduce(
          (n, entry) =>
            n +
            nodeCount(entry.value) +
            (entry.keyKind.case === 'mapKey' ? nodeCount(entry.keyKind.value) : 0),
          0,
        )
      );
    case 'comprehensionExpr': {
      const c = kind.value;
      return 1 + nodeCount(c.iterRange) + nodeCount(c.accuInit) + nodeCount(c.result);
    }
    default:
      return 1;
  }
}

/** The per-element cost of every comprehension, times the size of what it iterates when that is known. */
function iterationCost(e: Expr | undefined, bindings: Record<string, CelInput>): number {
  if (!e) return 0;
  const kind = e.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return iterationCost(kind.value.operand, bindings);
    case 'callExpr':
      return (
        iterationCost(kind.value.target, bindings) +
        kind.value.args.reduce((n, a) => n + iterationCost(a, bindings), 0)
      );
    case 'listExpr':
      return kind.value.elements.reduce((n, a) => n + iterationCost(a, bindings), 0);
    case 'comprehensionExpr': {
      const c = kind.value;
      const body = nodeCount(c.loopStep) + nodeCount(c.loopCondition) + iterationCost(c.loopStep, bindings);
      return iterationCost(c.iterRange, bindings) + body * rangeSize(c.iterRange, bindings);
    }
    default:
      return 0;
  }
}

function rangeSize(range: Expr | undefined, bindings: Record<string, CelInput>): number {
  if (!range) return 0;
  if (range.exprKind.case === 'listExpr') return range.exprKind.value.elements.length;
  if (range.exprKind.case === 'identExpr') {
    const value = bindings[range.exprKind.value.name] as unknown;
    if (Array.isArray(value)) return value.length;
    if (value instanceof Map) return value.size;
  }
  // Unknown size (a field, a function result): count it as one pass.
  return 1;
}
