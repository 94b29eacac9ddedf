import { html } from '../html.ts';
import { csrfField, field, formError, layout, notice } from '../layout.ts';
import { authzOf, isClient, storeOf, storePage } from '../permissions/store-page.ts';
import {
  accepted,
  type ConsoleRequest,
  type ConsoleResult,
  type ConsoleRoute,
  fieldOf,
  must,
} from '../route.ts';

interface TupleKey {
  user: string;
  relation: string;
  object: string;
  condition?: { name: string };
}

const NOTICES: Record<string, string> = {
  written: 'Tuple written.',
  deleted: 'Tuple deleted.',
};

const KEYS = ['user', 'relation', 'object'] as const;
type Key = (typeof KEYS)[number];
const LABELS: Record<Key, string> = { user: 'User', relation: 'Relation', object: 'Object' };

/** Which field a service refusal is about, by the words of its message. */
const HINTS: Record<Key, string[]> = {
  object: ['object'],
  relation: ['relation'],
  user: ['user'],
};

interface Problems {
  /** The form the problem is in: the filters or the write form. */
  form: 'filter' | 'write' | 'delete';
  at?: Key | undefined;
  message: string;
  values: Record<string, string>;
}

/**
 * The first field a tuple's part is missing from or malformed in, checked before the service sees it
 * (the service checks them again against the model): a person reads the reason at the field.
 */
export function tupleProblem(values: Record<string, string>): { at: Key; message: string } | undefined {
  const user = values['user'] ?? '';
  const relation = values['relation'] ?? '';
  const object = values['object'] ?? '';
  if (!user) return { at: 'user', message: 'Enter a user.' };
  if (!/^[^\s:#]+:[^\s#]+(#[^\s#]+)?$/.test(user))
    return { at: 'user', message: 'Write the user as type:id, type:id#relation or type:*.' };
  if (!relation) return { at: 'relation', message: 'Enter a relation.' };
  if (/[\s:#]/.test(relation)) return { at: 'relation', message: 'A relation is one word, like viewer.' };
  if (!object) return { at: 'object', message: 'Enter an object.' };
  if (!/^[^\s:#]+:[^\s#]+$/.test(object)) return { at: 'object', message: 'Write the object as type:id.' };
  return undefined;
}

async function tuplesPage(r: ConsoleRequest, problem?: Problems): Promise<ConsoleResult> {
  const authz = authzOf(r);
  if (!isClient(authz)) return authz;
  const found = await storeOf(r, authz);
  if ('missing' in found) return found.missing;
  const { store } = found;
  const ctx = r.page;
  const filter = Object.fromEntries(KEYS.map((k) => [k, (r.query.get(k) ?? '').trim()])) as Record<
    Key,
    string
  >;
  const from = r.query.get('from') ?? '';
  const key = Object.fromEntries(KEYS.filter((k) => filter[k]).map((k) => [k, filter[k]]));
  const read = accepted(
    await authz.call<{ tuples: { key: TupleKey }[]; continuation_token?: string }>(
      'POST',
      `/stores/${encodeURIComponent(store.id)}/read`,
      {
        ...(Object.keys(key).length > 0 ? { tuple_key: key } : {}),
        page_size: 25,
        ...(from ? { continuation_token: from } : {}),
      },
    ),
  );
  if (read.status >= 500) must(read);
  // A filter the service refuses (an object without a type, say) is shown at that filter.
  const filterError =
    problem?.form === 'filter'
      ? problem
      : read.error
        ? {
            form: 'filter' as const,
            at: fieldOf(read.error, HINTS) as Key | undefined,
            message: `${read.error.message} (${read.error.code})`,
            values: filter,
          }
        : undefined;
  const tuples = read.error ? [] : (read.body.tuples ?? []);
  const next = read.error ? undefined : read.body.continuation_token;
  const storeBase = `${ctx.base}/permissions/${encodeURIComponent(store.id)}`;
  const writeError = problem?.form === 'write' ? problem : undefined;
  const nextQuery = new URLSearchParams({ ...key, ...(next ? { from: next } : {}) }).toString();
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
${problem?.form === 'delete' ? formError(problem.message) : ''}
<form method="get" action="${storeBase}/tuples" class="filters" novalidate>
${KEYS.map((k) =>
  field('filter', k, LABELS[k], {
    value: filter[k],
    error: filterError?.at === k ? filterError.message : undefined,
    autocomplete: 'off',
  }),
)}
<button type="submit">Read tuples</button></form>
${filterError && !filterError.at ? formError(filterError.message) : ''}
<div class="table-wrap"><table><caption>${tuples.length} tuple${tuples.length === 1 ? '' : 's'}${from ? ' (a further page)' : ''}</caption>
<thead><tr><th scope="col">User</th><th scope="col">Relation</th><th scope="col">Object</th><th scope="col">Condition</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${tuples.map(
    ({ key: t }) =>
      html`<tr><td><code>${t.user}</code></td><td>${t.relation}</td><td><code>${t.object}</code></td><td>${t.condition?.name ?? ''}</td><td><form method="post" action="${storeBase}/tuples/delete" class="inline">${csrfField(ctx)}<input type="hidden" name="user" value="${t.user}"><input type="hidden" name="relation" value="${t.relation}"><input type="hidden" name="object" value="${t.object}"><button type="submit" aria-label="Delete ${t.user} ${t.relation} ${t.object}">Delete</button></form></td></tr>`,
  )}</tbody></table></div>
${next ? html`<p class="pager"><a href="${storeBase}/tuples?${nextQuery}">Next tuples</a></p>` : ''}
<section aria-labelledby="write-tuple"><h2 id="write-tuple">Write a tuple</h2>
<form method="post" action="${storeBase}/tuples" novalidate>${csrfField(ctx)}
${KEYS.map((k) =>
  field('write', k, LABELS[k], {
    required: true,
    value: writeError?.values[k],
    error: writeError?.at === k ? writeError.message : undefined,
    hint: k === 'user' ? 'type:id, type:id#relation or type:*' : k === 'object' ? 'type:id' : undefined,
    autocomplete: 'off',
  }),
)}
${writeError && !writeError.at ? formError(writeError.message) : ''}
<button type="submit">Write tuple</button></form></section>`;
  return storePage(r, store, 'tuples', main, problem ? 400 : 200);
}

const valuesOf = (r: ConsoleRequest) =>
  Object.fromEntries(KEYS.map((k) => [k, (r.fields[k] ?? '').trim()])) as Record<Key, string>;

async function change(r: ConsoleRequest, kind: 'writes' | 'deletes'): Promise<ConsoleResult> {
  const authz = authzOf(r);
  if (!isClient(authz)) return authz;
  const values = valuesOf(r);
  const form = kind === 'writes' ? 'write' : 'delete';
  const early = tupleProblem(values);
  if (early) return tuplesPage(r, { form, ...early, values });
  const answer = accepted(
    await authz.call('POST', `/stores/${encodeURIComponent(r.params['store']!)}/write`, {
      [kind]: { tuple_keys: [values] },
    }),
  );
  if (answer.status === 404 && answer.error?.code === 'store_id_not_found') {
    return {
      html: layout(r.page, 'permissions', 'No such store', html`<p>No store has this id.</p>`),
      status: 404,
    };
  }
  if (answer.error) {
    return tuplesPage(r, {
      form,
      at: fieldOf(answer.error, HINTS) as Key | undefined,
      message: `${answer.error.message} (${answer.error.code})`,
      values,
    });
  }
  return {
    redirect: `${r.page.base}/permissions/${encodeURIComponent(r.params['store']!)}/tuples?done=${kind === 'writes' ? 'written' : 'deleted'}`,
  };
}

export const permissionTupleRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/permissions/{store}/tuples', run: (r) => tuplesPage(r) },
  { method: 'POST', path: '/permissions/{store}/tuples', run: (r) => change(r, 'writes') },
  { method: 'POST', path: '/permissions/{store}/tuples/delete', run: (r) => change(r, 'deletes') },
];
