import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, readFields } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { brokeringOf } from './broker-flow.ts';

/**
 * The session API routes of linked identities, for the signed-in person:
 *
 * | route                                   | does                                                     |
 * | --------------------------------------- | -------------------------------------------------------- |
 * | `GET  /authentication/identities`       | the providers, which are linked, whether a password is set |
 * | `POST /authentication/identities/link`  | `{ provider }` → `{ location }`: send the browser there   |
 * | `POST /authentication/identities/unlink`| `{ provider }`: refused for the last way in               |
 *
 * Linking needs the session: being signed in to the account is the proof that it is the person's.
 */
const bodyLimit = 1024;

export function sessionApiBrokering(
  idp: IdpRuntime,
  deps: { currentSession(req: IncomingMessage): Promise<{ sub: string; sid: string } | undefined> },
) {
  const brokering = brokeringOf(idp);
  const { audit, trusted } = accountServices(idp);

  async function signedIn(req: IncomingMessage) {
    const claims = await deps.currentSession(req);
    if (!claims) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return claims;
  }

  async function providerField(req: IncomingMessage): Promise<string> {
    const fields = await readFields(req, bodyLimit);
    for (const name of Object.keys(fields)) {
      if (name !== 'provider')
        throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown field ${name.slice(0, 40)}`);
    }
    if (!fields['provider']) throw idpErrors.create('IDP_FIELD_MISSING', 'Field provider is required');
    return fields['provider'];
  }

  async function list(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { sub } = await signedIn(req);
    const linked = await brokering.identities.listOf(sub);
    const rows = await idp.sql.query<{ has_password: boolean }>(
      'select password_hash is not null as has_password from idp_users where id = $1',
      [sub],
    );
    sendJson(res, 200, {
      password: rows[0]?.has_password ?? false,
      providers: brokering.config.providers.map((p) => ({ id: p.id, name: p.name })),
      identities: linked.map((l) => ({
        provider: l.provider,
        upstreamUsername: l.upstreamUsername,
        linkedAt: l.linkedAt.toISOString(),
      })),
    });
  }

  async function link(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const session = await signedIn(req);
    const provider = await providerField(req);
    const url = await brokering.start(provider, { mode: 'link', userId: session.sub, sid: session.sid });
    sendJson(res, 200, { location: url.href });
  }

  async function unlink(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { sub } = await signedIn(req);
    const provider = await providerField(req);
    const removed = await brokering.identities.unlink(sub, provider);
    await audit.record({
      type: 'broker.unlinked',
      actor: sub,
      subject: sub,
      sourceIp: clientAddress(req, trusted),
      details: { provider, upstreamSubject: removed.subject },
    });
    sendJson(res, 200, { provider, unlinked: true });
  }

  return {
    routes: {
      '/authentication/identities': { method: 'GET', run: list },
      '/authentication/identities/link': { method: 'POST', run: link },
      '/authentication/identities/unlink': { method: 'POST', run: unlink },
    },
  };
}
