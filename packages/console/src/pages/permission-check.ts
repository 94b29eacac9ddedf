import type { ExpandNode } from '@gatehouse/authz';
import type { AdminClient } from '../admin-client.ts';
import { html, type Markup } from '../html.ts';
import { field, formError } from '../layout.ts';
import { checkPath, type PathNode } from '../permissions/check-path.ts';
import { authzOf, isClient, storeOf, storePage } from '../permissions/store-page.ts';
import {
  accepted,
  type ConsoleRequest,
  type ConsoleResult,
  type ConsoleRoute,
  fieldOf,
  must,
} from '../route.ts';
import { tupleProblem } from './permission-tuples.ts';

const KEYS = ['user', 'relation', 'object'] as const;
type Key = (typeof KEYS)[number] | 'context';

/** The path's tree as nested lists; the nodes on the way to the user are marked in words, not colour alone. */
function drawPath(node: PathNode): Markup {
  return html`<li${node.reaches ? html` class="on-path"` : ''}>${
    node.reaches
      ? html`<strong>${node.label}</strong> <span class="path-mark">(on the path)</span>`
      : node.label
  }${
    node.notFollowed === 'limit'
      ? html` <span class="hint">(not followed: the tester's limit)</span>`
      : node.notFollowed === 'cycle'
        ? html` <span class="hint">(already on the way)</span>`
        : ''
  }${node.children.length > 0 ? html`<ul>${node.children.map(drawPath)}</ul>` : ''}</li>`;
}

async function checkPage(r: ConsoleRequest): Promise<ConsoleResult> {
  const authz = authzOf(r);
  if (!isClient(authz)) return authz;
  const found = await storeOf(r, authz);
  if ('missing' in found) return found.missing;
  const { store } = found;
  const values = Object.fromEntries(
    [...KEYS, 'context'].map((k) => [k, (r.query.get(k) ?? '').trim()]),
  ) as Record<Key, string>;
  const asked = KEYS.some((k) => values[k] !== '') || values.context !== '';
  let problem: { at?: Key | undefined; message: string } | undefined;
  let result: Markup = html``;
  if (asked) {
    problem = tupleProblem(values);
    let context: unknown;
    if (!problem && values.context) {
      try {
        context = JSON.parse(values.context);
      } catch {
        problem = {
          at: 'context',
          message: 'The context must be JSON, like {"now": "2030-01-01T00:00:00Z"}.',
        };
      }
      if (!problem && (context === null || typeof context !== 'object' || Array.isArray(context)))
        problem = { at: 'context', message: 'The context must be a JSON object.' };
    }
    if (!problem) {
      const outcome = await runCheck(authz, store.id, values, context);
      if ('error' in outcome) problem = outcome.error;
      else result = outcome.markup;
    }
  }
  const storeBase = `${r.page.base}/permissions/${encodeURIComponent(store.id)}`;
  const main = html`<p>Asks the permission service whether the user has the relation on the object, and shows why: the model's tree for that relation on that object, with the branch that reaches the user marked.</p>
<form method="get" action="${storeBase}/check" novalidate>
${KEYS.map((k) =>
  field('check', k, k === 'user' ? 'User' : k === 'relation' ? 'Relation' : 'Object', {
    required: true,
    value: values[k],
    error: problem?.at === k ? problem.message : undefined,
    hint:
      k === 'user' ? 'type:id, e.g. user:anne' : k === 'object' ? 'type:id, e.g. document:plan' : undefined,
    autocomplete: 'off',
  }),
)}
${field('check', 'context', 'Context (optional JSON, for conditions)', {
  value: values.context,
  error: problem?.at === 'context' ? problem.message : undefined,
  autocomplete: 'off',
})}
${problem && !problem.at ? formError(problem.message) : ''}
<button type="submit">Check</button></form>
${result}`;
  return storePage(r, store, 'check', main, problem ? 400 : 200);
}

async function runCheck(
  authz: AdminClient,
  storeId: string,
  values: Record<Key, string>,
  context: unknown,
): Promise<{ markup: Markup } | { error: { at?: Key | undefined; message: string } }> {
  const storePath = `/stores/${encodeURIComponent(storeId)}`;
  const tuple = { user: values.user, relation: values.relation, object: values.object };
  const answer = accepted(
    await authz.call<{ allowed: boolean }>('POST', `${storePath}/check`, {
      tuple_key: tuple,
      ...(context !== undefined ? { context } : {}),
    }),
  );
  if (answer.status >= 500) must(answer);
  if (answer.error) {
    const at = fieldOf(answer.error, {
      object: ['object'],
      relation: ['relation'],
      user: ['user'],
      context: ['context', 'condition'],
    });
    return {
      error: { at: at as Key | undefined, message: `${answer.error.message} (${answer.error.code})` },
    };
  }
  const allowed = answer.body.allowed;
  const path = await checkPath(values.user, values.object, values.relation, {
    expand: async (object, relation) =>
      must(
        await authz.call<{ tree: { root: ExpandNode } }>('POST', `${storePath}/expand`, {
          tuple_key: { object, relation },
        }),
      ).tree.root,
  });
  return {
    markup: html`<section aria-labelledby="check-result"><h2 id="check-result">Answer</h2>
<p id="check-verdict" role="status" class="${allowed ? 'state ok' : 'state bad'}">${
      allowed
        ? html`<strong>Allowed</strong>: ${values.user} has ${values.relation} on ${values.object}.`
        : html`<strong>Not allowed</strong>: ${values.user} does not have ${values.relation} on ${values.object}.`
    }</p>
<h3>Path through the model</h3>
<p class="hint">The Expand tree of ${values.relation} on ${values.object}, each userset expanded in turn (up to a limit). ${
      allowed ? 'The nodes that reach the user are marked “on the path”.' : 'No branch reaches the user.'
    } Conditions are not evaluated here: the answer above is the verdict.</p>
<ul class="path-tree" id="check-path">${drawPath(path)}</ul></section>`,
  };
}

export const permissionCheckRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/permissions/{store}/check', run: (r) => checkPage(r) },
];
