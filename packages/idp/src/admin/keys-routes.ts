import { sendJson } from '../http/json-response.ts';
import type { AdminChanges } from './admin-changes.ts';
import { type AdminRoute, answer, ref } from './admin-route.ts';

/** Signing keys: listed (public information only) and rotated now. */
export function keysRoutes(a: AdminChanges): AdminRoute[] {
  const { idp } = a;
  return [
    {
      method: 'GET',
      path: '/keys',
      summary: 'List signing keys (public information only)',
      responses: { '200': answer('Keys', { type: 'array', items: ref('Key') }) },
      run: async ({ res }) => sendJson(res, 200, await idp.keys.list()),
    },
    {
      method: 'POST',
      path: '/keys/rotate',
      summary: 'Rotate the signing keys now',
      responses: {
        '200': answer('Rotated', {
          type: 'object',
          properties: { activated: { type: ['string', 'null'] }, retired: { type: ['string', 'null'] } },
        }),
      },
      async run({ res, caller }) {
        const result = await idp.keys.rotate();
        await a.change(caller, result.activated ?? 'keys', 'keys.rotate', {
          activated: result.activated,
          retired: result.retired,
        });
        sendJson(res, 200, result);
      },
    },
  ];
}
