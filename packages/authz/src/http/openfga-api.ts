import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHttpErrorLike, type Logger, readBody } from '@gatehouse/core';
import type { Authz } from '../authz.ts';
import { authzErrors } from '../errors.ts';
import { modelRoutes } from './openfga-models.ts';
import { queryRoutes } from './openfga-queries.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import { storeRoutes } from './openfga-stores.ts';
import { tupleRoutes } from './openfga-tuples.ts';
import { errorAnswer, type Json } from './openfga-wire.ts';

/**
 * The OpenFGA HTTP API over the engine: the same paths, bodies and error answers as OpenFGA's, so its
 * official SDKs and CLI work unchanged. Errors answer `{ "code": "<openfga error name>", "message" }`
 * with OpenFGA's status (400 for input, 404 for a missing store or path, 500 otherwise).
 *
 * The handler does not authenticate: the process that serves it puts its caller check in `authorize`
 * (read for queries, write for stores, models and tuples), which throws to refuse.
 * Gatehouse additions: a write answers `{ "consistency_token" }`, and every query accepts
 * `consistency_token` to be answered at least as fresh as that write.
 */
export interface OpenfgaApiOptions {
  authz: Authz;
  logger?: Logger | undefined;
  authorize?: ((req: IncomingMessage, access: 'read' | 'write') => Promise<void> | void) | undefined;
  /** Largest request body, in bytes (a model or a write of 100 tuples fits well within the default). */
  bodyLimit?: number | undefined;
  /** Told of every answered request (the service's audit trail); not called for unknown paths. */
  onOutcome?: ((req: IncomingMessage, outcome: OpenfgaOutcome) => void) | undefined;
}

export interface OpenfgaOutcome {
  /** `check`, `write`, `list-objects`, `stores`, `store`, `authorization-models`, ... (the path's last word). */
  operation: string;
  access: 'read' | 'write';
  storeId: string | undefined;
  body: Json;
  status: number;
  /** The JSON answered on success. */
  answer?: unknown;
  /** The error answered otherwise. */
  error?: { code: string; message: string };
}

export function createOpenfgaHandler(
  options: OpenfgaApiOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { authz } = options;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;

  const routes: OpenfgaRoute[] = [
    ...storeRoutes(authz),
    ...modelRoutes(authz),
    ...tupleRoutes(authz),
    ...queryRoutes(authz),
  ];

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://authz.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    let route: OpenfgaRoute | undefined;
    let groups: Record<string, string> = {};
    let body: Json = {};
    // The path's last word names the operation, except where that word is an id.
    const operation = () =>
      groups['model']
        ? 'authorization-model'
        : groups['store'] && /^\/stores\/[^/]+$/.test(path)
          ? 'store'
          : (path.split('/').at(-1) ?? '');
    try {
      const onPath = routes.filter((r) => r.pattern.test(path));
      if (onPath.length === 0) {
        return send(res, 404, { code: 'undefined_endpoint', message: `no endpoint at ${path}` });
      }
      route = onPath.find((r) => r.method === req.method);
      if (!route)
        return send(res, 405, { code: 'undefined_endpoint', message: `${req.method} is not allowed here` });
      groups = route.pattern.exec(path)?.groups ?? {};
      await options.authorize?.(req, route.access);
      if (req.method === 'POST') {
        const raw = await readBody(req, bodyLimit);
        if (raw.length > 0) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch {
            throw authzErrors.create('AUTHZ_VALIDATION', 'the body is not valid JSON');
          }
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
            throw authzErrors.create('AUTHZ_VALIDATION', 'the body must be a JSON object');
          }
          body = parsed as Json;
        }
      }
      const answer = await route.handle({
        storeId: pathSegment(groups['store']),
        modelId: pathSegment(groups['model']),
        body,
        query: url.searchParams,
      });
      if (answer[2] === 'ndjson') sendLines(res, answer[0], answer[1] as string[]);
      else send(res, answer[0], answer[1]);
      options.onOutcome?.(req, {
        operation: operation(),
        access: route.access,
        storeId: groups['store'],
        body,
        status: answer[0],
        answer: answer[1],
      });
    } catch (err) {
      const [status, answer] = errorAnswer(err);
      if (route) {
        options.onOutcome?.(req, {
          operation: operation(),
          access: route.access,
          storeId: groups['store'],
          body,
          status,
          error: answer,
        });
      }
      if (status >= 500) options.logger?.error({ err, path }, 'authz request failed');
      else
        options.logger?.info(
          { code: answer.code, status, path, message: answer.message },
          'authz request refused',
        );
      send(res, status, answer, isHttpErrorLike(err) ? err.headers : undefined);
    }
  };
}

function pathSegment(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    throw authzErrors.create('AUTHZ_VALIDATION', 'the path is not valid percent-encoding');
  }
}

function sendLines(res: ServerResponse, status: number, lines: string[]): void {
  const text = lines.map((l) => `${l}\n`).join('');
  res.writeHead(status, {
    'content-type': 'application/x-ndjson',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
