import { html } from '../html.ts';
import { csrfField, notice } from '../layout.ts';
import { authzOf, isClient, placeOf, storeOf, storePage } from '../permissions/store-page.ts';
import { accepted, type ConsoleRequest, type ConsoleResult, type ConsoleRoute, must } from '../route.ts';

const NOTICES: Record<string, string> = {
  'store-created': 'Store created. It has no model yet: write one below.',
  'model-written': 'Model written: checks and new tuples now use it.',
};

const EXAMPLE = `model
  schema 1.1

type user

type document
  relations
    define owner: [user]
    define viewer: [user] or owner
`;

async function modelPage(r: ConsoleRequest, typed?: string, error?: string): Promise<ConsoleResult> {
  const authz = authzOf(r);
  if (!isClient(authz)) return authz;
  const found = await storeOf(r, authz);
  if ('missing' in found) return found.missing;
  const { store } = found;
  const storePath = `/stores/${encodeURIComponent(store.id)}`;
  // The newest model comes first.
  const models = must(
    await authz.call<{ authorization_models: { id: string }[] }>(
      'GET',
      `${storePath}/authorization-models?page_size=1`,
    ),
  ).authorization_models;
  const latest = models[0];
  const dsl = latest
    ? must(
        await authz.call<{ dsl: string }>(
          'GET',
          `${storePath}/authorization-models/${encodeURIComponent(latest.id)}?format=dsl`,
        ),
      ).dsl
    : undefined;
  const place = error ? placeOf(error) : undefined;
  const described = ['model-dsl-hint', error ? 'model-dsl-error' : ''].filter(Boolean).join(' ');
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
<p>${latest ? html`The latest model is <code>${latest.id}</code>.` : 'This store has no model yet.'}</p>
<form method="post" action="${r.page.base}/permissions/${encodeURIComponent(store.id)}/model" novalidate>${csrfField(r.page)}
<div class="field"><label for="model-dsl">Model (DSL)</label>
<p class="hint" id="model-dsl-hint">OpenFGA's modelling language. Writing makes a new model; the older ones stay. Tab leaves the field.</p>
<textarea id="model-dsl" name="dsl" rows="20" spellcheck="false" autocapitalize="off" autocomplete="off" class="mono" aria-describedby="${described}"${
    error ? html` aria-invalid="true"` : ''
  }>${typed ?? dsl ?? EXAMPLE}</textarea>
${
  error
    ? html`<p class="field-error" id="model-dsl-error">${
        place
          ? html`<strong>Line ${String(place.line)}${place.column !== undefined ? html`, column ${String(place.column)}` : ''}</strong>: `
          : ''
      }${error}</p>`
    : ''
}</div>
<button type="submit">Write model</button></form>`;
  return storePage(r, store, 'model', main, error ? 400 : 200);
}

export const permissionModelRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/permissions/{store}/model', run: (r) => modelPage(r) },
  {
    method: 'POST',
    path: '/permissions/{store}/model',
    async run(r) {
      const authz = authzOf(r);
      if (!isClient(authz)) return authz;
      const dsl = r.fields['dsl'] ?? '';
      if (dsl.trim() === '') return modelPage(r, dsl, 'Enter a model.');
      const answer = accepted(
        await authz.call('POST', `/stores/${encodeURIComponent(r.params['store']!)}/authorization-models`, {
          dsl,
        }),
      );
      if (answer.status === 404) return modelPage(r);
      if (answer.error) return modelPage(r, dsl, `${answer.error.message} (${answer.error.code})`);
      return {
        redirect: `${r.page.base}/permissions/${encodeURIComponent(r.params['store']!)}/model?done=model-written`,
      };
    },
  },
];
