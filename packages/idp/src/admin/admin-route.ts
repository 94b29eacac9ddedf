import type { IncomingMessage, ServerResponse } from 'node:http';
import type { coreErrors } from '@gatehouse/core';
import type { IdpErrorCode } from '../errors.ts';
import type { AdminBodyName } from './admin-schemas.ts';

/**
 * One operation of the admin API: everything the server enforces about its input and everything it
 * answers, beside the handler. admin-api.ts routes and validates from these; openapi.ts writes the
 * document from the same objects, so the document cannot say other than what the server does.
 */
export interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Under the mount, OpenAPI's template form: `/users/{id}`. */
  path: string;
  summary: string;
  /** A description of each `{name}` in the path (their schema is the one of every path parameter). */
  params?: Record<string, string>;
  /** The query parameters the operation reads, each with its schema; any other is refused. */
  query?: Record<string, QueryParameter>;
  /** The name of the JSON body's schema (admin-schemas.ts), when the operation takes one. */
  body?: AdminBodyName;
  /** The answers besides the ones every operation may give (openapi.ts, commonResponses). */
  responses: Record<string, AdminResponse>;
  run: (ctx: RouteContext) => Promise<void>;
}

/** A query parameter's JSON schema: what a value must be once read as its type. */
export type QueryParameter =
  | { type: 'integer'; minimum: number; maximum: number }
  | { type: 'boolean'; default?: boolean }
  | { type: 'string'; maxLength: number; pattern: string }
  | { type: 'string'; format: 'date-time'; pattern: string };

export type ErrorCode = IdpErrorCode | keyof typeof coreErrors.catalog;

export interface AdminResponse {
  description: string;
  /** The body's JSON schema; none for an empty answer. */
  schema?: unknown;
  /** The error codes an error answer carries. */
  codes?: ErrorCode[];
}

export interface Caller {
  actor: string;
}

/** A query value as its parameter's type: a number, a boolean, a string, or a Date for `date-time`. */
export type QueryValue = number | boolean | string | Date;

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: Record<string, QueryValue | undefined>;
  /** The body, valid against the route's schema (undefined without one). */
  body: unknown;
  caller: Caller;
}

/** A reference to one of the document's component schemas (admin-schemas.ts). */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** An answer without an error code: a success, with its body's schema or none. */
export const answer = (description: string, schema?: unknown): AdminResponse =>
  schema === undefined ? { description } : { description, schema };

/** An error answer: what it means, and the codes it carries. */
export const refusal = (description: string, ...codes: ErrorCode[]): AdminResponse => ({
  description,
  schema: ref('Error'),
  codes,
});
