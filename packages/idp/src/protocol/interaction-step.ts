import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RenderedPage } from '../pages/layout.ts';
import type { BatchedWrite } from '../storage/one-statement.ts';
import type { InteractionLike } from './interactions.ts';

/**
 * What interactions.ts lends the steps it hands a sign-in to (the second factor, brokering): its
 * checks of a form post, its way to send a page and its way to finish a login.
 */
export interface InteractionStepDeps {
  mount: string;
  theme: string;
  csrfFor(uid: string): string;
  checkCsrf(uid: string, presented: string | undefined): void;
  formFields(req: IncomingMessage, allowed: string[]): Promise<Record<string, string>>;
  loadInteraction(req: IncomingMessage, res: ServerResponse, uid: string): Promise<InteractionLike>;
  finishLogin(
    req: IncomingMessage,
    res: ServerResponse,
    interaction: InteractionLike,
    accountId: string,
    audit: BatchedWrite[],
    amr: string[],
  ): Promise<void>;
  sendPage(res: ServerResponse, status: number, page: RenderedPage): void;
}

/** The client an interaction signs in to, when its authorization request named one. */
export function clientIdOf(interaction: InteractionLike): string | undefined {
  return typeof interaction.params['client_id'] === 'string' ? interaction.params['client_id'] : undefined;
}

/** Refusals of a password the form shows again (with their status) rather than as an error page. */
export const PASSWORD_REFUSALS_ON_PAGE: ReadonlySet<string> = new Set([
  'IDP_INVALID_CREDENTIALS',
  'IDP_LOGIN_THROTTLED',
  'IDP_LOGIN_LOCKED',
  'IDP_DIRECTORY_UNAVAILABLE',
]);
