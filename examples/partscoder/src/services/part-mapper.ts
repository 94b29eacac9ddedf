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
 * mw-part-mapper, at `/parts`: the vehicle parts catalogue. Anyone with the `user` role reads it;
 * only the `editor` role adds, changes or removes parts. Its data lives in schema `mw_part_mapper`.
 */
interface PartInput {
  number: string;
  name: string;
  vehicle: string;
  category: string;
}

interface PartRow extends PartInput {
  id: number;
}

const partSchema: JSONSchemaType<PartInput> = {
  type: 'object',
  additionalProperties: false,
  required: ['number', 'name', 'vehicle', 'category'],
  properties: {
    number: { type: 'string', pattern: '^[A-Z0-9-]{3,32}$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    vehicle: { type: 'string', minLength: 1, maxLength: 200 },
    category: { type: 'string', minLength: 1, maxLength: 100 },
  },
};

const SEED: PartInput[] = [
  { number: 'BRK-1001', name: 'Front brake pad set', vehicle: 'VW Golf VII', category: 'brakes' },
  { number: 'FLT-2040', name: 'Oil filter', vehicle: 'Toyota Corolla E210', category: 'filters' },
  { number: 'LGT-0300', name: 'Left headlamp unit', vehicle: 'Ford Focus IV', category: 'lighting' },
];

const columns = 'id, number, name, vehicle, category';

export async function setupPartMapper(deps: ServiceDeps): Promise<void> {
  await deps.sql.transaction(async (tx) => {
    await tx.query('create schema if not exists mw_part_mapper');
    await tx.query(`create table if not exists mw_part_mapper.parts (
      id bigint generated always as identity primary key,
      number text not null unique,
      name text not null,
      vehicle text not null,
      category text not null
    )`);
    const [{ n }] = (await tx.query<{ n: number }>(
      'select count(*)::int as n from mw_part_mapper.parts',
    )) as [{ n: number }];
    if (n > 0) return;
    for (const p of SEED) {
      await tx.query(
        'insert into mw_part_mapper.parts (number, name, vehicle, category) values ($1, $2, $3, $4)',
        [p.number, p.name, p.vehicle, p.category],
      );
    }
  });
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

export function partMapperApp(deps: ServiceDeps): ServiceApp {
  const { sql, guard } = deps;
  const app = createServiceApp('mw-part-mapper', deps);
  const readBody = bodyValidator(partSchema);
  const reader = [guard.authenticate, guard.requireRoles('user')] as const;
  const editor = [guard.authenticate, guard.requireRoles('editor')] as const;

  app.get('/parts', ...reader, async (c) => {
    const parts = await sql.query<PartRow>(`select ${columns} from mw_part_mapper.parts order by id`);
    return c.json({ parts });
  });

  app.get('/parts/:id', ...reader, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const [part] = await sql.query<PartRow>(`select ${columns} from mw_part_mapper.parts where id = $1`, [
      id,
    ]);
    return part ? c.json(part) : refuse(c, 'PC_NOT_FOUND', 'No such part');
  });

  app.post('/parts', ...editor, async (c) => {
    const body = await readBody(c);
    if (body instanceof Response) return body;
    try {
      const [part] = await sql.query<PartRow>(
        `insert into mw_part_mapper.parts (number, name, vehicle, category) values ($1, $2, $3, $4) returning ${columns}`,
        [body.number, body.name, body.vehicle, body.category],
      );
      return c.json(part, 201, { location: `/parts/${part!.id}` });
    } catch (err) {
      if (isUniqueViolation(err)) return refuse(c, 'PC_PART_NUMBER_TAKEN');
      throw err;
    }
  });

  app.put('/parts/:id', ...editor, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const body = await readBody(c);
    if (body instanceof Response) return body;
    try {
      const [part] = await sql.query<PartRow>(
        `update mw_part_mapper.parts set number = $2, name = $3, vehicle = $4, category = $5 where id = $1 returning ${columns}`,
        [id, body.number, body.name, body.vehicle, body.category],
      );
      return part ? c.json(part) : refuse(c, 'PC_NOT_FOUND', 'No such part');
    } catch (err) {
      if (isUniqueViolation(err)) return refuse(c, 'PC_PART_NUMBER_TAKEN');
      throw err;
    }
  });

  app.delete('/parts/:id', ...editor, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const rows = await sql.query('delete from mw_part_mapper.parts where id = $1 returning id', [id]);
    return rows.length > 0 ? c.body(null, 204) : refuse(c, 'PC_NOT_FOUND', 'No such part');
  });

  return app;
}
