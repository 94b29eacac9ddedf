import { refuse } from '../errors.ts';
import { createServiceApp, pathId, type ServiceApp, type ServiceDeps } from '../service-kit.ts';

/**
 * mw-photo-shark, at `/photo-guidelines`: how to photograph a part so it can be identified.
 * Read-only for the `user` role. Its data lives in schema `mw_photo_shark`.
 */
interface GuidelineRow {
  id: number;
  title: string;
  category: string;
  steps: string[];
}

const SEED: Omit<GuidelineRow, 'id'>[] = [
  {
    title: 'Brake parts',
    category: 'brakes',
    steps: ['Clean the part', 'Shoot the friction side and the back plate', 'Include the stamped number'],
  },
  {
    title: 'Lighting units',
    category: 'lighting',
    steps: ['Switch off the flash', 'Photograph the connector', 'Photograph the label on the housing'],
  },
];

export async function setupPhotoShark(deps: ServiceDeps): Promise<void> {
  await deps.sql.transaction(async (tx) => {
    await tx.query('create schema if not exists mw_photo_shark');
    await tx.query(`create table if not exists mw_photo_shark.guidelines (
      id bigint generated always as identity primary key,
      title text not null,
      category text not null,
      steps jsonb not null
    )`);
    const [{ n }] = (await tx.query<{ n: number }>(
      'select count(*)::int as n from mw_photo_shark.guidelines',
    )) as [{ n: number }];
    if (n > 0) return;
    for (const g of SEED) {
      await tx.query(
        'insert into mw_photo_shark.guidelines (title, category, steps) values ($1, $2, $3::jsonb)',
        [g.title, g.category, JSON.stringify(g.steps)],
      );
    }
  });
}

export function photoSharkApp(deps: ServiceDeps): ServiceApp {
  const { sql, guard } = deps;
  const app = createServiceApp('mw-photo-shark', deps);
  const reader = [guard.authenticate, guard.requireRoles('user')] as const;

  app.get('/photo-guidelines', ...reader, async (c) => {
    const guidelines = await sql.query<GuidelineRow>(
      'select id, title, category, steps from mw_photo_shark.guidelines order by id',
    );
    return c.json({ guidelines });
  });

  app.get('/photo-guidelines/:id', ...reader, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const [guideline] = await sql.query<GuidelineRow>(
      'select id, title, category, steps from mw_photo_shark.guidelines where id = $1',
      [id],
    );
    return guideline ? c.json(guideline) : refuse(c, 'PC_NOT_FOUND', 'No such guideline');
  });

  return app;
}
