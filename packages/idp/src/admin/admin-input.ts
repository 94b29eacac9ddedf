import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { coreErrors, mediaTypeOf, readBody } from '@gatehouse/core';
import { idpErrors } from '../errors.ts';
import type { AdminRoute, QueryParameter, QueryValue } from './admin-route.ts';
import { type AdminBodyName, adminBodySchemas, pathParameterSchema } from './admin-schemas.ts';

/**
 * The admin API's input read against the route's schemas (admin-schemas.ts, the ones the document
 * states): path parameters, query parameters (read as their schema's type) and the JSON body. A value
 * breaking its schema is refused with the field's code before any handler runs.
 */
const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

type Validator = ((data: unknown) => boolean) & {
  errors?: Array<{
    keyword: string;
    instancePath: string;
    message?: string;
    params: Record<string, unknown>;
  }> | null;
};

const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true });
addFormats(ajv);
// Every failing keyword of a parameter, so that a too long value is told as such whatever else is wrong.
const ajvAll = new Ajv({ allErrors: true, strict: false });
addFormats(ajvAll);

const bodyValidators = Object.fromEntries(
  Object.entries(adminBodySchemas).map(([k, schema]) => [k, ajv.compile(schema) as unknown as Validator]),
) as Record<AdminBodyName, Validator>;
const pathValidator = ajvAll.compile(pathParameterSchema) as unknown as Validator;
const queryValidators = new Map<QueryParameter, Validator>();

const tooLong = (v: Validator) => v.errors?.some((e) => e.keyword === 'maxLength') ?? false;

/** The path's `{name}` values, decoded, each valid against the path parameter schema. */
export function readPathParams(keys: string[], raw: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  keys.forEach((key, i) => {
    let value: string;
    try {
      value = decodeURIComponent(raw[i]!);
    } catch {
      throw coreErrors.create('GH_BAD_REQUEST', 'Malformed path');
    }
    if (!pathValidator(value)) {
      if (tooLong(pathValidator))
        throw idpErrors.create('IDP_FIELD_TOO_LONG', `Path parameter ${key} is too long`);
      throw idpErrors.create('IDP_FIELD_INVALID', `Path parameter ${key} has an invalid value`);
    }
    params[key] = value;
  });
  return params;
}

const controlCharacter = /[\u0000-\u001f\u007f]/;

function expected(schema: QueryParameter): string {
  if (schema.type === 'integer') return `an integer from ${schema.minimum} to ${schema.maximum}`;
  if (schema.type === 'boolean') return 'true or false';
  if ('format' in schema) return 'an RFC 3339 date-time';
  return 'text without control characters';
}

/** One query value as its schema's type, or undefined when it breaks the schema. */
function asType(schema: QueryParameter, raw: string): QueryValue | undefined {
  if (schema.type === 'integer') return /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
  if (schema.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : undefined;
  return raw;
}

/**
 * The route's query parameters as their types (a `date-time` as a Date), defaults filled in. A
 * parameter the route does not read is refused, and so is any value with a control character or
 * longer than any parameter takes, before its name is looked at.
 */
export function readQuery(route: AdminRoute, query: URLSearchParams): Record<string, QueryValue | undefined> {
  const specs = route.query ?? {};
  for (const [key, value] of query) {
    if (controlCharacter.test(value) || value.length > 256) {
      throw idpErrors.create('IDP_FIELD_INVALID', `Query parameter ${key.slice(0, 40)} has an invalid value`);
    }
    if (!Object.hasOwn(specs, key))
      throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown query parameter ${key.slice(0, 40)}`);
  }
  const values: Record<string, QueryValue | undefined> = {};
  for (const [key, schema] of Object.entries(specs)) {
    const raw = query.get(key);
    if (raw === null) {
      values[key] = schema.type === 'boolean' ? schema.default : undefined;
      continue;
    }
    let validate = queryValidators.get(schema);
    if (!validate) {
      validate = ajvAll.compile(schema) as unknown as Validator;
      queryValidators.set(schema, validate);
    }
    const value = asType(schema, raw);
    if (value === undefined || !validate(value)) {
      if (value !== undefined && tooLong(validate))
        throw idpErrors.create('IDP_FIELD_TOO_LONG', `Query parameter ${key} is too long`);
      throw idpErrors.create('IDP_FIELD_INVALID', `Query parameter ${key} must be ${expected(schema)}`);
    }
    if ('format' in schema) {
      const date = new Date(raw);
      if (Number.isNaN(date.getTime()))
        throw idpErrors.create('IDP_FIELD_INVALID', `Query parameter ${key} must be ${expected(schema)}`);
      values[key] = date;
    } else values[key] = value;
  }
  return values;
}

/** The JSON body, valid against the named schema (defaults filled in). */
export async function readJsonBody(req: IncomingMessage, schema: AdminBodyName): Promise<unknown> {
  const type = mediaTypeOf(req);
  if (type !== 'application/json')
    throw coreErrors.create('GH_UNSUPPORTED_MEDIA_TYPE', 'Send application/json');
  const raw = await readBody(req, 64 * 1024);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw coreErrors.create('GH_BAD_REQUEST', 'Body is not valid JSON');
  }
  const validate = bodyValidators[schema];
  if (!validate(value)) {
    const e = validate.errors?.[0];
    if (e?.keyword === 'additionalProperties') {
      throw idpErrors.create(
        'IDP_FIELD_UNKNOWN',
        `Unknown field ${String(e.params['additionalProperty']).slice(0, 40)}`,
      );
    }
    if (e?.keyword === 'required') {
      throw idpErrors.create('IDP_FIELD_MISSING', `Field ${String(e.params['missingProperty'])} is required`);
    }
    throw idpErrors.create('IDP_FIELD_INVALID', `${e?.instancePath || 'body'} ${e?.message ?? 'is invalid'}`);
  }
  return value;
}
