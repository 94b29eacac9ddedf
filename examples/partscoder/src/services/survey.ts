import type { Principal } from '@gatehouse/sdk';
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
 * mw-survey, at `/surveys`: every `user` lists and reads surveys and creates their own; a survey is
 * changed or deleted by whoever holds `can_edit` on it in the `partscoder` permission store (its
 * owner, or an admin of the organization: model/partscoder.fga), checked by the gateway's route
 * policy and again here. Its data lives in schema `mw_survey`; who owns it is written to the store
 * with it.
 */
interface SurveyInput {
  title: string;
  questions: string[];
}

interface SurveyRow extends SurveyInput {
  id: number;
  ownerId: string;
  ownerName: string | null;
}

const surveySchema: JSONSchemaType<SurveyInput> = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'questions'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    questions: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: { type: 'string', minLength: 1, maxLength: 500 },
    },
  },
};

const columns = 'id, owner_id as "ownerId", owner_name as "ownerName", title, questions';

export async function setupSurvey(deps: ServiceDeps): Promise<void> {
  await deps.sql.transaction(async (tx) => {
    await tx.query('create schema if not exists mw_survey');
    await tx.query(`create table if not exists mw_survey.surveys (
      id bigint generated always as identity primary key,
      owner_id text not null,
      owner_name text,
      title text not null,
      questions jsonb not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  });
  await backfillSurveyOwners(deps);
}

/** Every survey belongs to the one PartsCoder organization, whose admins may change it. */
const ORGANIZATION = 'organization:partscoder';

const surveyObject = (id: number) => `survey:${id}`;
const personOf = (caller: Principal) => (caller.username ? `user:${caller.username}` : undefined);

function ownershipTuples(survey: Pick<SurveyRow, 'id' | 'ownerName'>) {
  const object = surveyObject(survey.id);
  return [
    { user: ORGANIZATION, relation: 'organization', object },
    ...(survey.ownerName ? [{ user: `user:${survey.ownerName}`, relation: 'owner', object }] : []),
  ];
}

/**
 * Surveys written before the rule moved to the store get their tuples at start (idempotent), so
 * their owners keep editing them.
 */
async function backfillSurveyOwners(deps: ServiceDeps): Promise<void> {
  const rows = await deps.sql.query<SurveyRow>(`select ${columns} from mw_survey.surveys order by id`);
  const { authz, storeId } = deps.permissions;
  const max = authz.limits.maxTuplesPerWrite;
  const tuples = rows.flatMap(ownershipTuples);
  for (let i = 0; i < tuples.length; i += max) {
    await authz.write(storeId, { writes: { tupleKeys: tuples.slice(i, i + max), onDuplicate: 'ignore' } });
  }
}

export function surveyApp(deps: ServiceDeps): ServiceApp {
  const { sql, guard } = deps;
  const app = createServiceApp('mw-survey', deps);
  const readBody = bodyValidator(surveySchema);
  const member = [guard.authenticate, guard.requireRoles('user')] as const;

  const { authz, storeId, client } = deps.permissions;
  /** Checked again here, after the gateway's policy, with the sdk's permission client. */
  const mayChange = async (caller: Principal, survey: SurveyRow): Promise<boolean> => {
    const user = personOf(caller);
    if (!user) return false;
    return client.check({ user, relation: 'can_edit', object: surveyObject(survey.id) });
  };

  const find = async (id: number) =>
    (await sql.query<SurveyRow>(`select ${columns} from mw_survey.surveys where id = $1`, [id]))[0];

  app.get('/surveys', ...member, async (c) => {
    const surveys = await sql.query<SurveyRow>(`select ${columns} from mw_survey.surveys order by id`);
    return c.json({ surveys });
  });

  app.get('/surveys/:id', ...member, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const survey = await find(id);
    return survey ? c.json(survey) : refuse(c, 'PC_NOT_FOUND', 'No such survey');
  });

  app.post('/surveys', ...member, async (c) => {
    const body = await readBody(c);
    if (body instanceof Response) return body;
    const me = c.get('principal');
    const [survey] = await sql.query<SurveyRow>(
      `insert into mw_survey.surveys (owner_id, owner_name, title, questions) values ($1, $2, $3, $4::jsonb) returning ${columns}`,
      [me.subject, me.username ?? null, body.title, JSON.stringify(body.questions)],
    );
    await authz.write(storeId, { writes: { tupleKeys: ownershipTuples(survey!) } });
    return c.json(survey, 201, { location: `/surveys/${survey!.id}` });
  });

  app.put('/surveys/:id', ...member, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const existing = await find(id);
    if (!existing) return refuse(c, 'PC_NOT_FOUND', 'No such survey');
    if (!(await mayChange(c.get('principal'), existing))) return refuse(c, 'PC_NOT_OWNER');
    const body = await readBody(c);
    if (body instanceof Response) return body;
    const [survey] = await sql.query<SurveyRow>(
      `update mw_survey.surveys set title = $2, questions = $3::jsonb, updated_at = now() where id = $1 returning ${columns}`,
      [id, body.title, JSON.stringify(body.questions)],
    );
    return survey ? c.json(survey) : refuse(c, 'PC_NOT_FOUND', 'No such survey');
  });

  app.delete('/surveys/:id', ...member, async (c) => {
    const id = pathId(c);
    if (id === undefined) return refuse(c, 'PC_ID_INVALID');
    const existing = await find(id);
    if (!existing) return refuse(c, 'PC_NOT_FOUND', 'No such survey');
    if (!(await mayChange(c.get('principal'), existing))) return refuse(c, 'PC_NOT_OWNER');
    await sql.query('delete from mw_survey.surveys where id = $1', [id]);
    await authz.write(storeId, { deletes: { tupleKeys: ownershipTuples(existing), onMissing: 'ignore' } });
    return c.body(null, 204);
  });

  return app;
}
