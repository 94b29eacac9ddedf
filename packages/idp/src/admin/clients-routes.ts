import type { IdpClientConfig } from '../config-schema.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import {
  clientExists,
  clientMetadataFromConfig,
  deleteClient,
  generateClientSecret,
  listClients,
  rotateClientSecret,
  setClientEnabled,
  upsertClient,
} from '../protocol/clients.ts';
import { validateClientMetadata } from '../protocol/oidc-provider-internals.ts';
import { type AdminChanges, noContent, notFound } from './admin-changes.ts';
import { type AdminRoute, answer, ref, refusal } from './admin-route.ts';

/**
 * OAuth clients: listed, created (a confidential one without a secret gets one, shown once),
 * enabled or disabled, deleted, their secret rotated. A disabled or deleted client's tokens are
 * revoked on every gateway at once.
 */
const client = { clientId: 'client id' };

/**
 * Other replicas keep a client's metadata for up to 5 s (the adapter's client cache) and may still
 * issue it a token meanwhile: a deleted or disabled client's revocation covers that window too.
 */
const CLIENT_GONE_GRACE_SECONDS = 7;

export function clientsRoutes(a: AdminChanges): AdminRoute[] {
  const { idp } = a;
  const { sql } = idp;
  return [
    {
      method: 'GET',
      path: '/clients',
      summary: 'List clients',
      responses: { '200': answer('Clients', { type: 'array', items: ref('Client') }) },
      run: async ({ res }) => sendJson(res, 200, await listClients(sql)),
    },
    {
      method: 'POST',
      path: '/clients',
      summary: 'Create a client (a confidential client without a secret gets a generated one, returned once)',
      body: 'CreateClient',
      responses: {
        '201': answer('Created', {
          type: 'object',
          properties: { client: ref('Client'), clientSecret: { type: 'string' } },
        }),
        '409': refusal('Exists', 'IDP_ALREADY_EXISTS'),
        '400': refusal(
          'Invalid input; IDP_CLIENT_INVALID for metadata this deployment does not take (scopes it does not offer, an ID-token algorithm it does not sign with, a web origin that is not scheme://host[:port])',
          'IDP_CLIENT_INVALID',
        ),
      },
      async run({ res, body, caller }) {
        const config = body as IdpClientConfig;
        const confidential = ['client_secret_basic', 'client_secret_post'].includes(
          config.tokenEndpointAuthMethod,
        );
        const secret =
          confidential && !config.clientSecret && !config.clientSecretSha256
            ? generateClientSecret()
            : undefined;
        const metadata = clientMetadataFromConfig(secret ? { ...config, clientSecret: secret } : config);
        if (await clientExists(sql, metadata.client_id))
          throw idpErrors.create('IDP_ALREADY_EXISTS', 'Client exists');
        try {
          await validateClientMetadata(idp.provider(), metadata);
        } catch (cause) {
          const detail = (cause as { error_description?: string }).error_description ?? 'invalid metadata';
          throw idpErrors.create('IDP_CLIENT_INVALID', detail, { cause });
        }
        await upsertClient(sql, metadata, 'admin');
        await a.change(caller, metadata.client_id, 'client.create');
        const { client_secret: _hidden, ...shown } = metadata;
        sendJson(res, 201, {
          client: { clientId: metadata.client_id, source: 'admin', metadata: shown },
          ...(secret ? { clientSecret: secret } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/clients/{clientId}',
      summary: 'Get a client',
      params: client,
      responses: { '200': answer('Client', ref('Client')) },
      async run({ res, params }) {
        const found = (await listClients(sql)).find((c) => c.clientId === params['clientId']);
        if (!found) throw notFound('client');
        sendJson(res, 200, found);
      },
    },
    {
      method: 'PATCH',
      path: '/clients/{clientId}',
      summary: 'Enable or disable a client: disabling revokes every token it holds on every gateway at once',
      params: client,
      body: 'UpdateClient',
      responses: { '200': answer('Client', ref('Client')) },
      async run({ res, params, body, caller }) {
        const { enabled } = body as { enabled: boolean };
        const id = params['clientId']!;
        if (!(await setClientEnabled(sql, id, enabled))) throw notFound('client');
        if (!enabled) await a.revokeTokensOf('client', id, CLIENT_GONE_GRACE_SECONDS);
        await a.change(caller, id, enabled ? 'client.enable' : 'client.disable');
        sendJson(
          res,
          200,
          (await listClients(sql)).find((c) => c.clientId === id),
        );
      },
    },
    {
      method: 'DELETE',
      path: '/clients/{clientId}',
      summary: 'Delete a client: every token it holds is revoked on every gateway at once',
      params: client,
      responses: { '204': answer('Deleted') },
      async run({ res, params, caller }) {
        if (!(await deleteClient(sql, params['clientId']!))) throw notFound('client');
        await a.revokeTokensOf('client', params['clientId']!, CLIENT_GONE_GRACE_SECONDS);
        await a.change(caller, params['clientId']!, 'client.delete');
        noContent(res);
      },
    },
    {
      method: 'POST',
      path: '/clients/{clientId}/secret',
      summary:
        'Rotate the client secret; the new secret is returned once. With revokeTokens=true every token the client holds is revoked too',
      params: client,
      query: { revokeTokens: { type: 'boolean', default: false } },
      responses: {
        '200': answer('New secret', { type: 'object', properties: { clientSecret: { type: 'string' } } }),
      },
      async run({ res, params, query, caller }) {
        const revokeTokens = query['revokeTokens'] === true;
        const clientSecret = await rotateClientSecret(sql, params['clientId']!);
        // A leaked secret: the tokens obtained with it go too.
        if (revokeTokens) await a.revokeTokensOf('client', params['clientId']!);
        await a.change(caller, params['clientId']!, 'client.secret.rotate', { revokeTokens });
        sendJson(res, 200, { clientSecret });
      },
    },
  ];
}
