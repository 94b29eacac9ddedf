import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type AccountsIdp, serviceToken, startAccountsIdp } from './accounts-harness.ts';

/**
 * A property-based test driven by the admin API's own OpenAPI document: for every operation it
 * generates requests from the document's parameter and body schemas (valid ones must be accepted,
 * invalid ones refused with a 4xx, never a 5xx) and validates each response against the document.
 * The document is what API users code against, so every rule the server enforces must be in it.
 * ADMIN_OPENAPI_RUNS sets the examples per operation and kind (default 25); ADMIN_OPENAPI_SEED replays
 * the seed a failure printed.
 */
const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

const numRuns = Number(process.env['ADMIN_OPENAPI_RUNS'] ?? 25);
const seed = process.env['ADMIN_OPENAPI_SEED'] ? Number(process.env['ADMIN_OPENAPI_SEED']) : undefined;

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  minProperties?: number;
};
type Parameter = { name: string; in: 'path' | 'query'; required?: boolean; schema: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: { 'application/json': { schema: Schema } } }>;
};
type Doc = {
  paths: Record<string, Record<string, Operation | Parameter[]>>;
  components: { schemas: Record<string, Schema> };
};

// Addresses the server's email rule takes (its rule is narrower than RFC 5322 and the document says so).
const emailArb = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,12}(?:[._+-][a-z0-9]{1,8})?$/),
    fc.stringMatching(/^[a-z0-9]{1,10}$/),
    fc.constantFrom('com', 'org', 'example', 'io'),
  )
  .map(([l, d, t]) => `${l}@${d}.${t}`);
// An address another account holds, so that conflicts are reached too.
const TAKEN_EMAIL = 'taken@example.com';
const emailOrTaken = fc.oneof(
  { arbitrary: emailArb, weight: 4 },
  { arbitrary: fc.constant(TAKEN_EMAIL), weight: 1 },
);
// A subset of the usernames the server takes (its script rules cannot be said in JSON Schema).
const usernameArb = fc.stringMatching(/^[a-z][a-z0-9]{2,12}(?:[._-][a-z0-9]{1,8})?$/);

function resolve(doc: Doc, s: Schema): Schema {
  if (!s.$ref) return s;
  return resolve(doc, doc.components.schemas[s.$ref.replace('#/components/schemas/', '')]!);
}

/** fast-check arbitrary of values the schema accepts (the subset of JSON Schema the document uses). */
function valid(doc: Doc, raw: Schema, name = ''): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((type) => valid(doc, { ...s, type }, name)));
  switch (s.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
    case 'string': {
      if (name === 'username') return usernameArb;
      if (s.format === 'email') return emailOrTaken;
      if (s.format === 'uri') return fc.webUrl({ validSchemes: ['https'] });
      if (s.format === 'date-time') {
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
      }
      if (s.format === 'uuid') return fc.uuid();
      const min = s.minLength ?? 0;
      const max = Math.min(s.maxLength ?? 40, min + 40);
      if (s.pattern) {
        const re = new RegExp(s.pattern, 'u');
        return fc
          .stringMatching(re)
          .filter((v) => [...v].length >= min && [...v].length <= (s.maxLength ?? 1e9));
      }
      return fc.string({ minLength: min, maxLength: max });
    }
    case 'array': {
      const items = valid(doc, s.items ?? {}, name);
      const constraints = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) };
      return s.uniqueItems
        ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) })
        : fc.array(items, constraints);
    }
    case 'object': {
      const props = s.properties ?? {};
      const record = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, p]) => [k, valid(doc, p, k)])),
        { requiredKeys: s.required ?? [] },
      );
      return s.minProperties ? record.filter((o) => Object.keys(o).length >= s.minProperties!) : record;
    }
    default:
      return fc.constant('x');
  }
}

/** Values of a JSON type the schema does not allow. */
function wrongType(s: Schema): unknown[] {
  const types = Array.isArray(s.type) ? s.type : [s.type];
  const jsonType = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v;
  return ['text', 1.5, true, [1], { a: 1 }, null].filter((v) => {
    const t = jsonType(v);
    return !types.includes(t) && !(t === 'boolean' && types.includes('boolean'));
  });
}

/** Ways a body can break the schema: each must be refused with a 4xx and change nothing. */
function invalidBody(doc: Doc, raw: Schema): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  const base = valid(doc, s) as fc.Arbitrary<Record<string, unknown>>;
  const props = Object.entries(s.properties ?? {});
  const options: Array<fc.Arbitrary<unknown>> = [
    fc.constantFrom('"a string"', '[]', 'null', 42, '{not json'),
    base.map((o) => ({ ...o, 'unexpected-field': 1 })),
  ];
  for (const key of s.required ?? []) {
    options.push(
      base.map((o) => {
        const { [key]: _gone, ...rest } = o;
        return rest;
      }),
    );
  }
  for (const [key, p0] of props) {
    const p = resolve(doc, p0);
    const wrong = wrongType(p);
    if (wrong.length)
      options.push(fc.tuple(base, fc.constantFrom(...wrong)).map(([o, v]) => ({ ...o, [key]: v })));
    if (p.maxLength !== undefined && p.type === 'string') {
      options.push(base.map((o) => ({ ...o, [key]: 'a'.repeat(p.maxLength! + 1) })));
    }
    if (p.minLength && p.type === 'string') {
      options.push(base.map((o) => ({ ...o, [key]: 'a'.repeat(p.minLength! - 1) })));
    }
    if (p.enum) options.push(base.map((o) => ({ ...o, [key]: 'not-in-enum' })));
    if (p.format === 'email') options.push(base.map((o) => ({ ...o, [key]: 'not an address' })));
  }
  return fc.oneof(...options);
}

/** Query values the parameter's schema refuses. */
function invalidQuery(p: Parameter): string[] {
  const s = p.schema;
  const bad: string[] = ['a\u0001b', 'x'.repeat(300)];
  if (s.type === 'integer') {
    bad.push('abc', '1.5', '-1e3');
    if (s.minimum !== undefined) bad.push(String(s.minimum - 1));
    if (s.maximum !== undefined) bad.push(String(s.maximum + 1));
  }
  if (s.type === 'boolean') bad.push('yes', '1');
  if (s.format === 'date-time') bad.push('0.5', 'May 1', '2026-13-01T00:00:00Z', 'garbage');
  if (s.maxLength !== undefined) bad.push('a'.repeat(s.maxLength + 1));
  return bad;
}

// Path parameter values a gateway refuses (and so must the API): encoded separators, controls, too long.
const hostilePath = ['a%2Fb', '%2F', 'a%5Cb', 'a%3Bb', '%00', 'a%0Ab', '%7F', 'x'.repeat(300), '%E0%A4%A'];

describe('admin API against its OpenAPI document (property-based)', () => {
  let t: AccountsIdp;
  let token: string;
  let doc: Doc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);

  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    token = await serviceToken(t, 'fuzz-robot', ['admin']);
    doc = (await (await fetch(`${t.origin}/auth/admin/openapi.json`)).json()) as Doc;
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const taken = await send('post', '/users', {
      username: 'fuzztaken',
      password: 'fixture phrase two',
      email: TAKEN_EMAIL,
    });
    assert.equal(taken.status, 201);
    await ensureFixtures();
  });

  // Existing resources that path parameters also point at, so that operations succeed and not only 404.
  const fixtures = { userId: '', role: 'fuzz-role', group: 'fuzz-group', client: 'fuzz-client' };
  async function ensureFixtures() {
    const user = await send('get', '/users?search=fuzzfixture');
    const found = (user.json as Array<{ id: string; username: string }>).find(
      (u) => u.username === 'fuzzfixture',
    );
    if (found) fixtures.userId = found.id;
    else {
      const created = await send('post', '/users', {
        username: 'fuzzfixture',
        password: 'fixture phrase one',
      });
      assert.equal(created.status, 201, created.text);
      fixtures.userId = (created.json as { id: string }).id;
    }
    for (const [path, body] of [
      ['/roles', { name: fixtures.role }],
      ['/groups', { name: fixtures.group }],
      ['/clients', { clientId: fixtures.client, grantTypes: ['client_credentials'], redirectUris: [] }],
    ] as const) {
      const res = await send('post', path, body);
      assert.ok([201, 409].includes(res.status), `${path}: ${res.status} ${res.text}`);
    }
  }
  function fixtureOf(template: string, param: string): (() => string) | undefined {
    if (param === 'id' || param === 'userId') return () => fixtures.userId;
    if (param === 'role') return () => fixtures.role;
    if (param === 'clientId') return () => fixtures.client;
    if (param === 'name') return () => (template.startsWith('/roles') ? fixtures.role : fixtures.group);
    return undefined;
  }
  after(() => t?.close());

  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.origin}/auth/admin${path}`, {
      method: method.toUpperCase(),
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
  };

  const withDocRefs = (schema: Schema): Schema =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')) as Schema;

  /** The response is one the document states for this operation, with a body of its schema. */
  function conforms(op: Operation, what: string, res: { status: number; text: string; json: unknown }) {
    const documented = op.responses[String(res.status)];
    assert.ok(documented, `${what}: status ${res.status} is not documented (${res.text.slice(0, 200)})`);
    const schema = documented.content?.['application/json'].schema;
    if (!schema) {
      assert.equal(res.text, '', `${what}: ${res.status} has a body the document does not state`);
      return;
    }
    const validate = ajv.compile(withDocRefs(schema));
    assert.ok(validate(res.json), `${what}: body breaks the schema: ${ajv.errorsText(validate.errors)}`);
  }

  // What a valid request creates is removed again, so random data does not pile up.
  async function cleanUp(
    method: string,
    path: string,
    res: { status: number; json: unknown },
    body: unknown,
  ) {
    if (method !== 'post' || res.status !== 201) return;
    const j = res.json as { id?: string; name?: string; client?: { clientId: string } };
    const b = body as { name?: string };
    const target =
      path === '/users'
        ? `/users/${j.id}`
        : path === '/clients'
          ? `/clients/${encodeURIComponent(j.client!.clientId)}`
          : `${path}/${encodeURIComponent(b.name!)}`;
    assert.equal((await send('delete', target)).status, 204, `clean up ${target}`);
  }

  // Refusals of schema-valid input for rules JSON Schema cannot state; each is described in the document.
  const semanticRefusals = new Set([
    'IDP_PASSWORD_COMMON',
    'IDP_PASSWORD_CONTAINS_USERNAME',
    'IDP_CLIENT_INVALID',
  ]);

  test('every operation: valid requests accepted, invalid refused with a 400, responses as documented', async () => {
    const started = Date.now();
    let requests = 0;
    // Which statuses each operation answered: shows the runs reach successes and conflicts, not only refusals.
    const seen = new Map<string, Set<number>>();
    for (const [template, item] of Object.entries(doc.paths)) {
      const shared = (item['parameters'] as Parameter[] | undefined) ?? [];
      for (const [method, value] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const op = value as Operation;
        const what = `${method.toUpperCase()} ${template}`;
        const params = [...shared, ...(op.parameters ?? [])];
        const pathParams = params.filter((p) => p.in === 'path');
        const queryParams = params.filter((p) => p.in === 'query');
        const bodySchema = op.requestBody?.content['application/json'].schema;

        const pathArb = fc.record(
          Object.fromEntries(
            pathParams.map((p) => {
              const fixture = fixtureOf(template, p.name);
              const random = valid(doc, p.schema, p.name);
              return [p.name, fixture ? fc.oneof(random, fc.constant(0).map(fixture)) : random];
            }),
          ),
        ) as fc.Arbitrary<Record<string, string>>;
        const queryArb = fc.record(
          Object.fromEntries(queryParams.map((p) => [p.name, valid(doc, p.schema, p.name)])),
          { requiredKeys: [] },
        ) as fc.Arbitrary<Record<string, unknown>>;
        // Cross-field rules (allOf/if/then) are not generated: the document's schema picks the valid ones.
        const bodyValid = bodySchema ? ajv.compile(withDocRefs(bodySchema)) : undefined;
        const bodyArb = bodySchema
          ? valid(doc, bodySchema).filter((b) => bodyValid!(structuredClone(b)))
          : fc.constant(undefined);
        const url = (path: Record<string, string>, query: Record<string, unknown>, raw?: string) => {
          const p = template.replace(/\{(\w+)\}/g, (_, k: string) =>
            k === raw ? path[k]! : encodeURIComponent(path[k]!),
          );
          const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
          return q ? `${p}?${q}` : p;
        };

        // Valid: accepted, or a documented 404 (random ids) / 409 (taken) / semantic refusal.
        await fc.assert(
          fc.asyncProperty(pathArb, queryArb, bodyArb, async (path, query, body) => {
            requests++;
            const res = await send(method, url(path, query), body);
            seen.set(what, (seen.get(what) ?? new Set()).add(res.status));
            const code = (res.json as { error?: string } | undefined)?.error ?? '';
            assert.ok(res.status < 500, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
            assert.ok(
              res.status < 300 || [404, 409].includes(res.status) || semanticRefusals.has(code),
              `${what} refused valid input ${JSON.stringify({ path, query, body })}: ${res.status} ${res.text.slice(0, 200)}`,
            );
            conforms(op, what, res);
            await cleanUp(method, template, res, body);
            if (method === 'delete' && res.status === 204) await ensureFixtures();
          }),
          { numRuns, ...(seed === undefined ? {} : { seed }) },
        );

        // Invalid: a body, a query value or a path parameter the document refuses, each a 400.
        const invalids: Array<fc.Arbitrary<{ path: string; body: unknown }>> = [];
        if (bodySchema) {
          invalids.push(
            fc.tuple(pathArb, invalidBody(doc, bodySchema)).map(([p, body]) => ({ path: url(p, {}), body })),
          );
        }
        for (const q of queryParams) {
          invalids.push(
            fc
              .tuple(pathArb, bodyArb, fc.constantFrom(...invalidQuery(q)))
              .map(([p, body, v]) => ({ path: url(p, { [q.name]: v }), body })),
          );
        }
        invalids.push(
          fc.tuple(pathArb, bodyArb).map(([p, body]) => ({ path: url(p, { 'not-a-parameter': 1 }), body })),
        );
        for (const pp of pathParams) {
          invalids.push(
            fc
              .tuple(pathArb, bodyArb, fc.constantFrom(...hostilePath))
              .map(([p, body, v]) => ({ path: url({ ...p, [pp.name]: v }, {}, pp.name), body })),
          );
        }
        await fc.assert(
          fc.asyncProperty(fc.oneof(...invalids), async ({ path, body }) => {
            requests++;
            const res = await send(method, path, body);
            // Refused as input (400), before any lookup: not a 404 that would mean it was taken as a name.
            assert.ok(
              res.status === 400,
              `${what} took invalid input ${path} ${JSON.stringify(body)}: ${res.status} ${res.text.slice(0, 200)}`,
            );
            conforms(op, what, res);
          }),
          { numRuns, ...(seed === undefined ? {} : { seed }) },
        );
      }
    }
    console.log(`admin OpenAPI property test: ${requests} requests in ${Date.now() - started} ms`);
    for (const [what, statuses] of seen) console.log(`  valid ${what}: ${[...statuses].sort().join(' ')}`);
  });
});
