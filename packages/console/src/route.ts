import type { IncomingMessage } from 'node:http';
import type { AdminAnswer, AdminClient } from './admin-client.ts';
import { consoleErrors } from './errors.ts';
import type { PageContext } from './layout.ts';

export interface ConsoleRequest {
  req: IncomingMessage;
  page: PageContext;
  admin: AdminClient;
  /** The permission service's OpenFGA API with the same token; absent when the console has no URL for it. */
  authz: AdminClient | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Form fields of a POST (CSRF already checked), empty for a GET. */
  fields: Record<string, string>;
}

export type ConsoleResult =
  | { html: string; status?: number }
  /** A piece of a page, redrawn in place by the page's script. */
  | { fragment: string }
  | { redirect: string }
  | { download: string; filename: string; type: string };

export interface ConsoleRoute {
  method: 'GET' | 'POST';
  /** Under the mount, `{name}` is one segment. */
  path: string;
  run(r: ConsoleRequest): Promise<ConsoleResult>;
}

/**
 * The admin API's answer when it is a success; a refusal of the caller (401, 403) becomes the
 * console's "needs the admin role" page; any other error is returned for the form to show.
 */
export function accepted<T>(answer: AdminAnswer<T>): AdminAnswer<T> {
  if (answer.status === 401 || answer.status === 403) throw consoleErrors.create('CONSOLE_ADMIN_REQUIRED');
  return answer;
}

/** The body of a successful read; any error is thrown (a page cannot be drawn without it). */
export function must<T>(answer: AdminAnswer<T>): T {
  accepted(answer);
  if (answer.error) throw consoleErrors.create('CONSOLE_ADMIN_API_UNAVAILABLE', answer.error.message);
  return answer.body;
}

/** Which field an admin API error is about, when its code or message names one of the form's fields. */
export function fieldOf(
  error: { code: string; message: string },
  fields: Record<string, string[]>,
): string | undefined {
  for (const [name, hints] of Object.entries(fields)) {
    if (hints.some((h) => error.code.includes(h.toUpperCase()) || error.message.toLowerCase().includes(h))) {
      return name;
    }
  }
  return undefined;
}
