import type { IncomingMessage } from 'node:http';
import type { accountServices } from '../accounts/account-services.ts';
import type { brokeringOf } from '../brokering/broker-flow.ts';
import type { IdpRuntime } from '../index.ts';
import type { mfaServiceOf } from '../mfa/mfa-service.ts';
import type { RenderedPage } from '../pages/layout.ts';
import type { AccountCaller } from './account-caller.ts';
import type { FieldError, NOTICES } from './account-views.ts';
import type { SelfService, Who } from './self-service.ts';

/** Where the account page lives. */
export const BASE = '/account';

/** What a form POST ends in: a 303 back to the page (or elsewhere), or a page to show. */
export type Outcome =
  | { redirect: string; headers?: Record<string, string> }
  | { page: RenderedPage; status: number };

export interface ActionContext {
  req: IncomingMessage;
  caller: AccountCaller;
  who: Who;
  fields: Record<string, string>;
  /** The form token for the page shown next. */
  csrf: string;
}

/** One form of the account page (`POST /account/<name>`). */
export interface Action {
  /** Fields besides `csrf`. */
  fields: string[];
  required?: string[];
  /** Which field (or form) a refusal is shown at; default the action's form. */
  at?: (code: string) => string;
  run(ctx: ActionContext): Promise<Outcome>;
}

/** What the actions use, built once per identity provider. */
export interface ActionDeps {
  idp: IdpRuntime;
  self: SelfService;
  mfa: ReturnType<typeof mfaServiceOf>;
  brokering: ReturnType<typeof brokeringOf>;
  accounts: ReturnType<typeof accountServices>;
  theme: string | undefined;
  /** The issuer's path (`/auth` behind the gateway): the broker callback's cookie is scoped under it. */
  issuerPath: string;
}

/** Back to the page with a fixed notice, at the section the change was made in. */
export function done(key: keyof typeof NOTICES, section: string): Outcome {
  return { redirect: `${BASE}?done=${key}#${section}` };
}

/** Where a change came from, for the audit trail. */
export function source(who: Who): { ip: string; via: string } {
  return { ip: who.ip, via: who.via };
}

/** A refusal (a catalog error below 500) as shown at a field; anything else is rethrown. */
export function refusalOf(err: unknown): FieldError & { status: number } {
  const x = err as { status?: unknown; code?: unknown; message?: unknown };
  if (typeof x.status === 'number' && x.status < 500 && typeof x.code === 'string') {
    return { status: x.status, code: x.code, message: String(x.message) };
  }
  throw err;
}
