import { connect } from 'node:net';
import { accountServices } from '../accounts/account-services.ts';
import { type AdminRoute, answer, ref } from '../admin/admin-route.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { directoryServiceOf } from './directory-service.ts';

/**
 * The admin API's read-only view of the LDAP directory: its configuration (never the bind password)
 * and whether its server answers now, so a console can show an operator what sign-in depends on.
 */
/** Whether a TCP connection to the directory's host and port opens within the timeout. */
function reachable(url: string, timeoutMs: number): Promise<{ reachable: boolean; error?: string }> {
  const u = new URL(url.replace(/^ldap(s?):/, 'http$1:'));
  const port = Number(u.port || (url.startsWith('ldaps:') ? 636 : 389));
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port, timeout: timeoutMs });
    const done = (result: { reachable: boolean; error?: string }) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ reachable: true }));
    socket.once('timeout', () => done({ reachable: false, error: 'timed out' }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ reachable: false, error: err.code ?? err.message }),
    );
  });
}

export function adminApiDirectory(idp: IdpRuntime): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/directory',
      summary:
        'The LDAP directory people sign in with: its configuration (the bind password only as "(set)") and whether its server answers a TCP connection now',
      responses: { '200': answer('Directory', ref('Directory')) },
      async run({ res }) {
        // accountServices builds the directory service when configured; this only looks it up.
        accountServices(idp);
        const directory = directoryServiceOf(idp, () => undefined);
        if (!directory) return sendJson(res, 200, { enabled: false });
        const { bindPassword, ...config } = directory.config;
        const status = await reachable(config.url!, Math.min(config.connectTimeoutMs, 2000));
        sendJson(res, 200, {
          ...config,
          bindPassword: bindPassword === undefined ? undefined : '(set)',
          status,
        });
      },
    },
  ];
}
