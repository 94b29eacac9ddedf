import type { JSONSchemaType } from 'ajv';
import { refuse } from '../errors.ts';
import {
  bodyValidator,
  createServiceApp,
  pathId,
  type ServiceApp,
  type ServiceDeps,
} from '../service-kit.ts';

/**
 * mw-realm-info, at `/realm-info`: each user's settings and the upstream parts servers they use.
 * Every query is keyed on the caller's `sub`: a user sees and changes only their own rows, admins
 * included, and another user's server id answers 404 exactly like one that does not exist.
 * Its data lives in schema `mw_realm_info`.
 */
interface Settings {
  language?: string;
  units?: 'metric' | 'imperial';
  defaultRegion?: string;
  notifications?: boolean;
}

interface ServerInput {
  name: string;
  url: string;
  region: string;
}

interface ServerRow extends ServerInput {
  id: number;
}

const settingsSchema: JSONSchemaType<Settings> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    language: { type: 'string', pattern: '^[a-z]{2}(-[A-Z]{2})?$', nullable: true },
    units: { type: 'string', enum: ['metric', 'imperial'], nullable: true },
    defaultRegion: { type: 'string', minLength: 1, maxLength: 64, nullable: true },
    notifications: { type: 'boolean', nullable: true },
  },
};

const serverSchema: JSONSchemaType<ServerInput> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'url', 'region'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    url: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 },
    region: { type: 'string', minLength: 1, maxLength: 64 },
  },
};

const DEFAULT_SETTINGS: Settings = { language: 'en', units: 'metric', notifications: true };

export async function setupRealmInfo(deps: ServiceDeps): Promise<void> {
  await deps.sql.transaction(async (tx) => {
    await tx.query('create schema if not exists mw_realm_info');
    await tx.query(`create table if not exists mw_realm_info.settings (
      user_id text primary key,
      settings jsonb not null,
      updated_at timestamptz not null default now()
    )`);
    await tx.query(`create table if not exists mw_realm_info.servers (
      id bigint generated always as identity primary key,
      user_id text not null,
      name text not null,
      url text not null,
      region text not null
    )`);
    await tx.query('create index if not exists servers_by_user on mw_realm_info.servers (user_id)');
  });
}

export function realmInfoApp(deps: ServiceDeps): ServiceApp {
  const { sql, guard } = deps;
  const app = createServiceApp('mw-realm-info', deps);
  const readSettings = bodyValidator(settingsSchema);
  const readServer = bodyValidator(serverSchema);
  const member = [guard.authenticate, guard.requireRoles('user')] as const;

  const settingsOf = async (userId: string): Promise<Settings> => {
    const [row] = await sql.query<{ settings: Settings }>(
      'select settings from mw_realm_info.settings where user_id = $1',
      [userId],
    );
    return row?.settings ?? DEFAULT_SETTINGS;
  };
  const serversOf = (userId: string) =>
    sql.query<ServerRow>(
      'select id, name, url, region from mw_realm_info.servers where user_id = $1 order by id',
      [userId],
    );

  app.get('/realm-info', ...member, async (c) => {
    const me = c.get('principal');
    return c.json({
      userId: me.subject,
      username: me.username ?? null,
      settings: await settingsOf(me.subject),
      servers: await serversOf(me.subject),
    });
  });

  app.put('/realm-info/settings', ...member, async (c) => {
    const body = await readSettings(c);
    if (body instanceof Response) return body;
    const me = c.get('principal');
    await sql.query(
      `insert into mw_realm_info.settings (user_id, settings) values ($1, $2::jsonb)
       on conflict (user_id) do update set settings = excluded.settings, updated_at = now()`,
      [me.subject, JSON.stringify(body)],
    );
    return c.json({ settings: body });
  });

  app.get('/realm-info/servers', ...member, async (c) =>
    c.json({ servers: await serversOf(c.get('principal').subject) }),
  );

  app.post('/realm-info/servers', ...member, async (c) => {
    const body = await readServer(c);
    if (body instanceof Response) return body;
    const [server] = await sql.query<ServerRow>(
      'insert into mw_realm_info.servers (user_id, name, url, region) values ($1, $2, $3, $4) returning id, name, url, region',
      [c.get('principal').subject, body.name, body.url, body.region],
    );
    return c.json(server, 201, { location: `/realm-info/servers/${server!.id}` });
  });

  app.delete('/realm-info/servers/:id', ...member, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const rows = await sql.query(
      'delete from mw_realm_info.servers where id = $1 and user_id = $2 returning id',
      [id, c.get('principal').subject],
    );
    return rows.length > 0 ? c.body(null, 204) : refuse(c, 'PC_NOT_FOUND', 'No such server');
  });

  return app;
}
