import type { Scenario, Step, UserFlow } from '../scenario.ts';
import { benchAccount, idOf, sessionLogin } from '../session-steps.ts';
import { StepFailedError } from '../step-errors.ts';

/**
 * Where the PartsCoder services answer behind the gateway, as the reference systems describe them. Kept as data
 * so that it is one edit when `examples/partscoder` settles its routes.
 */
export const partscoderRoutes = {
  dashboard: '/dashboard/api/services',
  realmInfo: '/realm-info',
  parts: '/parts',
  surveys: '/surveys',
};

/**
 * The PartsCoder middleware (`examples/partscoder`): log in (SSO session), then loop: dashboard,
 * realm info, parts, and a survey's whole life (create, list, edit, delete).
 */
export const partscoderScenario: Scenario = {
  name: 'partscoder',
  summary: 'log in, dashboard, realm info, parts, surveys create / list / edit / delete',
  async prepare(http, options) {
    const notes: string[] = [];
    const probe = await http
      .request('GET', partscoderRoutes.dashboard, { expect: 'any' })
      .catch((err: Error) => err);
    if (probe instanceof Error || probe.status === 404) {
      notes.push(
        `GET ${partscoderRoutes.dashboard} answered ${probe instanceof Error ? probe.message : 404}: examples/partscoder does not seem to run behind this target; its steps will count as errors`,
      );
    }
    notes.push(`every user logs in as ${options.login.username}`);
    return {
      notes,
      createUser(ctx): UserFlow {
        const { http } = ctx;
        const { username, password } = options.login;
        let surveyId: string | undefined;
        const get = (service: string, name: string, path: string): Step => ({
          service,
          name,
          run: async () => {
            await http.request('GET', path);
          },
        });
        const steps: Step[] = [
          {
            service: 'auth',
            name: 'login',
            role: 'login',
            run: () => sessionLogin(http, username, password),
          },
          get('mw-dashboard', 'services and status', partscoderRoutes.dashboard),
          get('mw-realm-info', 'own settings', partscoderRoutes.realmInfo),
          get('mw-part-mapper', 'list parts', partscoderRoutes.parts),
          {
            service: 'mw-survey',
            name: 'create survey',
            async run() {
              surveyId = undefined;
              const title = `bench ${benchAccount(ctx.runId, ctx.users, ctx.index).username}`;
              const res = await http.request('POST', partscoderRoutes.surveys, {
                json: { title, questions: ['Which part?'] },
              });
              surveyId = idOf(res.json());
              if (surveyId === undefined) throw new StepFailedError('no survey id');
            },
          },
          get('mw-survey', 'list surveys', partscoderRoutes.surveys),
          {
            service: 'mw-survey',
            name: 'edit survey',
            async run() {
              if (surveyId === undefined) throw new StepFailedError('no survey to edit');
              await http.request('PUT', `${partscoderRoutes.surveys}/${encodeURIComponent(surveyId)}`, {
                json: { title: 'bench survey (edited)', questions: ['Which part number?'] },
              });
            },
          },
          {
            service: 'mw-survey',
            name: 'delete survey',
            async run() {
              if (surveyId === undefined) throw new StepFailedError('no survey to delete');
              await http.request('DELETE', `${partscoderRoutes.surveys}/${encodeURIComponent(surveyId)}`);
            },
          },
        ];
        return { setup: [], steps };
      },
    };
  },
};
