import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Authz, TupleKey } from '@gatehouse/authz';
import type { Logger } from '@gatehouse/core';
import type { PermissionClient, Verifier } from '@gatehouse/sdk';
import { createHonoGuard } from '@gatehouse/sdk/hono';
import { getRequestListener } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authenticateCaller, type CallerEnv } from '../../shared/src/hono-caller.ts';
import { readJsonObject as readJsonFields } from '../../shared/src/json-object.ts';
import { userOf } from './caller.ts';
import { beepErrors, errorAnswer } from './errors.ts';
import type { MessageStore } from './message-store.ts';

export interface BeepServiceOptions {
  /** The engine on the shared storage: the service writes relationships through it. */
  authz: Authz;
  storeId: string;
  /** Checks with the decision cache the change feed keeps correct (the sdk's permission client). */
  permissions: PermissionClient;
  messages: MessageStore;
  verifier: Verifier;
  logger: Logger;
}

/** The permissions a role may be given on a server; @everyone (`everyone`) only the first three. */
const ROLE_PERMISSIONS = [
  'view_channel',
  'send_messages',
  'create_invite',
  'manage_roles',
  'manage_channels',
  'administrator',
];
const EVERYONE_PERMISSIONS = ['view_channel', 'send_messages', 'create_invite'];
const OVERRIDE_PERMISSIONS = { view_channel: 'view', send_messages: 'send' } as const;
const NAME = /^[A-Za-z0-9._~-]{1,64}$/;
const INVITE_TTL = { min: 1, max: 7 * 24 * 3600, fallback: 24 * 3600 };
/** People are named by username in the store (user:<username>), the same template as routes.yaml. */
const SUBJECT = { user: 'user:{username}' };

/**
 * The beep service. Every route is checked twice, by the gateway's `permission` policy (routes.yaml)
 * and here by the sdk's `requirePermission` guard, so a request that reaches the service another
 * way gets the same answer.
 *
 * | route                                                   | permission (on)                              |
 * | ------------------------------------------------------- | -------------------------------------------- |
 * | `GET  /beep/channels`                                   | lists the channels the caller can view       |
 * | `GET  /beep/channels/{id}/messages`                     | `can_view` (channel)                          |
 * | `POST /beep/channels/{id}/messages`                     | `can_send` (channel)                          |
 * | `PUT  /beep/channels/{id}/overrides`                    | `can_manage_overrides` (channel)              |
 * | `PUT  /beep/servers/{id}/roles/{role}`                  | `can_manage_roles` (server): a new role       |
 * | `PUT/DELETE /beep/servers/{id}/roles/{role}/permissions/{permission}` | `can_manage_roles` (server)   |
 * | `PUT/DELETE /beep/servers/{id}/roles/{role}/members/{user}`           | `can_manage_roles` (server)   |
 * | `POST /beep/servers/{id}/invites`                       | `can_create_invite` (server)                  |
 * | `POST /beep/invites/{code}/join`                        | `can_join` (invite), with the current time   |
 */
export function createBeepService(options: BeepServiceOptions): Server {
  const { authz, storeId, permissions, messages, logger } = options;
  const app = new Hono<CallerEnv>();
  app.onError((err, c) => {
    const res = errorAnswer(err);
    const code = (err as { code?: unknown }).code;
    if (res.status >= 500) logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    else logger.info({ code, status: res.status, method: c.req.method, path: c.req.path }, 'request refused');
    return res;
  });
  app.notFound(() => errorAnswer(beepErrors.create('BEEP_NOT_FOUND')));
  app.get('/health', (c) => c.json({ status: 'ok' }));

  const authenticate = authenticateCaller(options.verifier);
  const guard = createHonoGuard({ verifier: options.verifier, logger });
  const permitted = (relation: string, object: string) =>
    guard.requirePermission({ client: permissions, relation, object, subject: SUBJECT });
  const limit = bodyLimit({
    maxSize: 4096,
    onError: () => {
      throw beepErrors.create('BEEP_BODY_TOO_LARGE');
    },
  });
  const write = (tupleKeys: TupleKey[]) =>
    authz.write(storeId, { writes: { tupleKeys, onDuplicate: 'ignore' } });
  const remove = (tupleKeys: TupleKey[]) =>
    authz.write(storeId, { deletes: { tupleKeys, onMissing: 'ignore' } });
  const pathName = (c: Context, name: string): string => {
    const v = c.req.param(name) ?? '';
    if (!NAME.test(v)) throw beepErrors.create('BEEP_BAD_REQUEST', `${name} must be plain characters`);
    return v;
  };

  app.get('/beep/channels', authenticate, async (c) => {
    const user = userOf(c.get('principal'));
    const channels = await permissions.listObjects({ user, relation: 'can_view', type: 'channel' });
    return c.json({ channels: channels.map((o) => o.slice('channel:'.length)).sort() }, 200, noStore);
  });

  app.get('/beep/channels/:id/messages', authenticate, permitted('can_view', 'channel:{id}'), async (c) =>
    c.json({ messages: await messages.list(c.req.param('id')) }, 200, noStore),
  );

  app.post(
    '/beep/channels/:id/messages',
    limit,
    authenticate,
    permitted('can_send', 'channel:{id}'),
    async (c) => {
      const body = await readJsonObject(c, ['text']);
      const text = body['text'];
      if (typeof text !== 'string' || text.trim() === '' || text.length > 2000) {
        throw beepErrors.create('BEEP_BAD_REQUEST', 'text must be a string of 1 to 2000 characters');
      }
      const author = userOf(c.get('principal')).slice('user:'.length);
      const message = await messages.add(c.req.param('id'), author, text);
      return c.json({ message }, 201, noStore);
    },
  );

  // Channel overrides: allow, deny or inherit one permission for @everyone, a role or a member.
  app.put(
    '/beep/channels/:id/overrides',
    limit,
    authenticate,
    permitted('can_manage_overrides', 'channel:{id}'),
    async (c) => {
      const channel = `channel:${c.req.param('id')}`;
      const body = await readJsonObject(c, ['permission', 'target', 'effect']);
      const short = OVERRIDE_PERMISSIONS[body['permission'] as keyof typeof OVERRIDE_PERMISSIONS];
      if (!Object.hasOwn(OVERRIDE_PERMISSIONS, String(body['permission'])) || !short) {
        throw beepErrors.create('BEEP_BAD_REQUEST', 'permission must be view_channel or send_messages');
      }
      const effect = body['effect'];
      if (effect !== 'allow' && effect !== 'deny' && effect !== 'inherit') {
        throw beepErrors.create('BEEP_BAD_REQUEST', 'effect must be allow, deny or inherit');
      }
      const server = await serverOf(channel);
      const { user, level } = await overrideTarget(body['target'], server);
      const allow = { user, relation: `${short}_allow_${level}`, object: channel };
      const deny = { user, relation: `${short}_deny_${level}`, object: channel };
      // One write: the opposite override goes in the same transaction the new one comes in.
      await authz.write(storeId, {
        deletes: {
          tupleKeys: effect === 'allow' ? [deny] : effect === 'deny' ? [allow] : [allow, deny],
          onMissing: 'ignore',
        },
        ...(effect === 'inherit'
          ? {}
          : { writes: { tupleKeys: [effect === 'allow' ? allow : deny], onDuplicate: 'ignore' } }),
      });
      return c.body(null, 204);
    },
  );

  // A new role on the server, with no permission and nobody in it yet.
  app.put(
    '/beep/servers/:id/roles/:role',
    authenticate,
    permitted('can_manage_roles', 'server:{id}'),
    async (c) => {
      const server = `server:${pathName(c, 'id')}`;
      const role = pathName(c, 'role');
      if (role === 'everyone') throw beepErrors.create('BEEP_BAD_REQUEST', '@everyone always exists');
      const { tuples } = await authz.read(storeId, {
        tupleKey: { object: `role:${role}`, relation: 'server' },
      });
      if (tuples.some((t) => t.key.user !== server)) {
        throw beepErrors.create('BEEP_BAD_REQUEST', 'this role id belongs to another server');
      }
      await write([{ user: server, relation: 'server', object: `role:${role}` }]);
      return c.body(null, 204);
    },
  );

  app.on(
    ['PUT', 'DELETE'],
    '/beep/servers/:id/roles/:role/permissions/:permission',
    authenticate,
    permitted('can_manage_roles', 'server:{id}'),
    async (c) => {
      const server = `server:${pathName(c, 'id')}`;
      const role = pathName(c, 'role');
      const permission = c.req.param('permission');
      const everyone = role === 'everyone';
      if (!(everyone ? EVERYONE_PERMISSIONS : ROLE_PERMISSIONS).includes(permission)) {
        throw beepErrors.create('BEEP_BAD_REQUEST', `a role cannot be given ${permission.slice(0, 40)}`);
      }
      if (!everyone) await requireRoleOn(role, server);
      if (permission === 'administrator') {
        const user = userOf(c.get('principal'));
        if (!(await permissions.check({ user, relation: 'administrator', object: server }))) {
          throw beepErrors.create('BEEP_ADMINISTRATOR_REQUIRED');
        }
      }
      const tuple = {
        user: everyone ? `${server}#member` : `role:${role}#assignee`,
        relation: permission,
        object: server,
      };
      await (c.req.method === 'PUT' ? write([tuple]) : remove([tuple]));
      return c.body(null, 204);
    },
  );

  app.on(
    ['PUT', 'DELETE'],
    '/beep/servers/:id/roles/:role/members/:user',
    authenticate,
    permitted('can_manage_roles', 'server:{id}'),
    async (c) => {
      const server = `server:${pathName(c, 'id')}`;
      const role = pathName(c, 'role');
      if (role === 'everyone') {
        throw beepErrors.create('BEEP_BAD_REQUEST', "@everyone's members are the server's members");
      }
      await requireRoleOn(role, server);
      const tuple = { user: `user:${pathName(c, 'user')}`, relation: 'assignee', object: `role:${role}` };
      await (c.req.method === 'PUT' ? write([tuple]) : remove([tuple]));
      return c.body(null, 204);
    },
  );

  app.post(
    '/beep/servers/:id/invites',
    limit,
    authenticate,
    permitted('can_create_invite', 'server:{id}'),
    async (c) => {
      const server = `server:${pathName(c, 'id')}`;
      const body = await readJsonObject(c, ['ttlSeconds']);
      const ttl = body['ttlSeconds'] ?? INVITE_TTL.fallback;
      if (
        typeof ttl !== 'number' ||
        !Number.isSafeInteger(ttl) ||
        ttl < INVITE_TTL.min ||
        ttl > INVITE_TTL.max
      ) {
        throw beepErrors.create(
          'BEEP_BAD_REQUEST',
          `ttlSeconds must be an integer from 1 to ${INVITE_TTL.max}`,
        );
      }
      const code = randomBytes(12).toString('base64url');
      const invite = `invite:${code}`;
      const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
      await write([
        { user: server, relation: 'server', object: invite },
        { user: userOf(c.get('principal')), relation: 'creator', object: invite },
        {
          user: 'user:*',
          relation: 'holder',
          object: invite,
          condition: { name: 'not_expired', context: { expires_at: expiresAt } },
        },
      ]);
      return c.json({ code, expiresAt, joinPath: `/beep/invites/${code}/join` }, 201, noStore);
    },
  );

  // The guard's requirePermission takes no condition context: the check with the current time is here.
  app.post('/beep/invites/:code/join', authenticate, async (c) => {
    const code = pathName(c, 'code');
    const user = userOf(c.get('principal'));
    const allowed = await permissions.check({
      user,
      relation: 'can_join',
      object: `invite:${code}`,
      context: { current_time: new Date().toISOString() },
    });
    if (!allowed) throw beepErrors.create('BEEP_INVITE_INVALID');
    const server = await serverOf(`invite:${code}`);
    await write([{ user, relation: 'member', object: server }]);
    return c.json({ server: server.slice('server:'.length) }, 200, noStore);
  });

  /** The server an object belongs to, from its `server` tuple. */
  async function serverOf(object: string): Promise<string> {
    const { tuples } = await authz.read(storeId, { tupleKey: { object, relation: 'server' } });
    const server = tuples[0]?.key.user;
    if (!server) throw beepErrors.create('BEEP_CHANNEL_NOT_FOUND');
    return server;
  }

  async function requireRoleOn(role: string, server: string): Promise<void> {
    const { tuples } = await authz.read(storeId, {
      tupleKey: { object: `role:${role}`, relation: 'server', user: server },
    });
    if (tuples.length === 0) throw beepErrors.create('BEEP_ROLE_NOT_FOUND');
  }

  /** `everyone`, `role:<id>` (a role of the channel's server) or `user:<username>`. */
  async function overrideTarget(
    target: unknown,
    server: string,
  ): Promise<{ user: string; level: 'everyone' | 'role' | 'member' }> {
    if (target === 'everyone') return { user: `${server}#member`, level: 'everyone' };
    const [kind, name = ''] = typeof target === 'string' ? target.split(/:(.*)/s) : [];
    if (kind === 'role' && NAME.test(name)) {
      await requireRoleOn(name, server);
      return { user: `role:${name}#assignee`, level: 'role' };
    }
    if (kind === 'user' && NAME.test(name)) return { user: `user:${name}`, level: 'member' };
    throw beepErrors.create('BEEP_BAD_REQUEST', 'target must be everyone, role:<id> or user:<username>');
  }

  return createServer(getRequestListener(app.fetch));
}

const noStore = { 'cache-control': 'no-store' };

/** The body as a JSON object with only the `allowed` keys; an empty body is `{}`. */
function readJsonObject(c: Context, allowed: readonly string[]): Promise<Record<string, unknown>> {
  return readJsonFields(c, allowed, (message) => beepErrors.create('BEEP_BAD_REQUEST', message));
}
