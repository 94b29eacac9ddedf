import { defineErrors, type GatehouseError } from '@gatehouse/core';

/**
 * Every error the permission engine answers with. Codes are stable; messages may change.
 * Each entry also names the OpenFGA error it stands for (`openfga`, `openfgaCode`: the name and number of
 * OpenFGA's ErrorCode enum), so the OpenFGA HTTP API answers with OpenFGA's own codes and the
 * conformance tests can compare numbers.
 */
export const authzErrors = defineErrors({
  // Request shape (400)
  AUTHZ_VALIDATION: {
    status: 400,
    message: 'The request is invalid',
    openfga: 'validation_error',
    openfgaCode: 2000,
  },
  AUTHZ_INVALID_TUPLE: {
    status: 400,
    message: 'The relationship tuple is invalid for the authorization model',
    openfga: 'invalid_tuple',
    openfgaCode: 2027,
  },
  AUTHZ_TYPE_NOT_FOUND: {
    status: 400,
    message: 'The type is not defined in the authorization model',
    openfga: 'type_not_found',
    openfgaCode: 2021,
  },
  AUTHZ_RELATION_NOT_FOUND: {
    status: 400,
    message: 'The relation is not defined on this type in the authorization model',
    openfga: 'relation_not_found',
    openfgaCode: 2022,
  },
  AUTHZ_INVALID_MODEL: {
    status: 400,
    message: 'The authorization model is invalid',
    openfga: 'invalid_authorization_model',
    openfgaCode: 2056,
  },
  AUTHZ_UNSUPPORTED_SCHEMA_VERSION: {
    status: 400,
    message: 'The authorization model schema version is not supported (use 1.1 or 1.2)',
    openfga: 'unsupported_schema_version',
    openfgaCode: 2057,
  },
  AUTHZ_RESOLUTION_TOO_COMPLEX: {
    status: 400,
    message: 'Resolving the request needed more than the allowed depth of nested relations',
    openfga: 'authorization_model_resolution_too_complex',
    openfgaCode: 2002,
  },
  AUTHZ_WRITE_CONFLICT: {
    status: 400,
    message: 'The write adds a tuple that exists or deletes one that does not',
    openfga: 'write_failed_due_to_invalid_input',
    openfgaCode: 2017,
  },
  AUTHZ_DUPLICATE_TUPLE_IN_REQUEST: {
    status: 400,
    message: 'The same tuple appears more than once in one request',
    openfga: 'cannot_allow_duplicate_tuples_in_one_request',
    openfgaCode: 2004,
  },
  AUTHZ_TOO_MANY_TUPLES: {
    status: 400,
    message: 'The request carries more tuples than allowed',
    openfga: 'exceeded_entity_limit',
    openfgaCode: 2053,
  },
  AUTHZ_INVALID_CONTINUATION_TOKEN: {
    status: 400,
    message: 'The continuation token is invalid',
    openfga: 'invalid_continuation_token',
    openfgaCode: 2007,
  },
  AUTHZ_INVALID_CONSISTENCY_TOKEN: {
    status: 400,
    message: 'The consistency token is invalid or from another store',
    openfga: 'validation_error',
    openfgaCode: 2000,
  },
  AUTHZ_CONDITION_INVALID: {
    status: 400,
    message: 'The condition or its context is invalid',
    openfga: 'validation_error',
    openfgaCode: 2000,
  },
  AUTHZ_CONDITION_MISSING_PARAMETERS: {
    status: 400,
    message: 'A condition could not be evaluated: the context is missing parameters',
    openfga: 'validation_error',
    openfgaCode: 2000,
  },
  AUTHZ_CONDITION_COST_EXCEEDED: {
    status: 400,
    message: 'A condition exceeded its evaluation cost limit',
    openfga: 'validation_error',
    openfgaCode: 2000,
  },
  AUTHZ_MODEL_TOO_LARGE: {
    status: 400,
    message: 'The authorization model is larger than allowed',
    openfga: 'exceeded_entity_limit',
    openfgaCode: 2053,
  },
  // Callers (thrown by the `authorize` hook of the process serving the API)
  AUTHZ_UNAUTHENTICATED: {
    status: 401,
    message: 'The request needs a valid access token',
    openfga: 'unauthenticated',
    openfgaCode: 1500,
  },
  AUTHZ_FORBIDDEN: {
    status: 403,
    message: 'The caller may not do this',
    openfga: 'forbidden',
    openfgaCode: 1600,
  },
  // Missing things
  AUTHZ_STORE_NOT_FOUND: {
    status: 404,
    message: 'The store does not exist',
    openfga: 'store_id_not_found',
    openfgaCode: 5002,
  },
  AUTHZ_MODEL_NOT_FOUND: {
    status: 400,
    message: 'The authorization model does not exist in this store',
    openfga: 'authorization_model_not_found',
    openfgaCode: 2001,
  },
  AUTHZ_LATEST_MODEL_NOT_FOUND: {
    status: 400,
    message: 'The store has no authorization model yet',
    openfga: 'latest_authorization_model_not_found',
    openfgaCode: 2020,
  },
  AUTHZ_ENDPOINT_NOT_FOUND: {
    status: 404,
    message: 'No endpoint at this path',
    openfga: 'undefined_endpoint',
    openfgaCode: 5000,
  },
  AUTHZ_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This method is not allowed at this path',
    openfga: 'undefined_endpoint',
    openfgaCode: 5000,
  },
  // Process
  AUTHZ_INTERNAL: { status: 500, message: 'Internal error', openfga: 'internal_error', openfgaCode: 4000 },
});

export type AuthzErrorCode = keyof typeof authzErrors.catalog;

/** The OpenFGA error name and number an engine error stands for. */
export function openfgaErrorOf(err: GatehouseError): { name: string; code: number } | undefined {
  const spec = (authzErrors.catalog as Record<string, { openfga: string; openfgaCode: number }>)[err.code];
  return spec ? { name: spec.openfga, code: spec.openfgaCode } : undefined;
}
