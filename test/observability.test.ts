/**
 * What an operator sees, checked on the real processes.
 *
 * Traces. One request, one trace, three processes: the gateway (`gatehouse gateway`), a service behind it
 * (test/support/traced-service.ts) and the identity provider (`gatehouse idp`) the service asks for
 * a token, each exporting its spans over OTLP/HTTP to a collector this test runs. The spans join
 * through the W3C traceparent each hop sends: the gateway's span is the root, the service's span its
 * child, the identity provider's span the service's child. The gateway's span carries the route, the
 * decision and its reason and the client id; no export carries the token. And a service guarded by
 * the SDK (test/support/guarded-service.ts): the guard's span, the gateway span's child, carries the
 * SDK's decision, and the permission service (`gatehouse authz`) its guard asks is the guard span's
 * child, with the engine's decision.
 *
 * Dashboard and alerts. Every metric deploy/observability/ names (the Grafana dashboard's queries,
 * the Prometheus rules' expressions) is exported by the gateway's or the identity provider's
 * /metrics: a renamed metric cannot leave a panel blank or an alert silent.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestSql, skipUnlessService, type TestSql } from '@gatehouse/core/testing';
import { parse, stringify } from 'yaml';
import { freePort } from './support/dev-process.ts';

const bin = fileURLToPath(new URL('../packages/cli/src/bin.ts', import.meta.url));
const serviceScript = fileURLToPath(new URL('./support/traced-service.ts', import.meta.url));
const guardedScript = fileURLToPath(new URL('./support/guarded-service.ts', import.meta.url));

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface ExportedSpan extends OtlpSpan {
  service: string;
}

/** An OTLP/HTTP collector: keeps every span of every JSON export, with its resource's service.name. */
function startCollector(): Promise<{ server: Server; url: string; spans: ExportedSpan[]; raw: string[] }> {
  const spans: ExportedSpan[] = [];
  const raw: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      raw.push(body);
      assert.equal(req.headers['content-type'], 'application/json');
      const doc = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: OtlpSpan['attributes'] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      };
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}/v1/traces`, spans, raw });
    });
  });
}

function attr(span: ExportedSpan, key: string): string | number | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
}

function run(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, GATEHOUSE_LOG__LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  return { child, output: () => out };
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  output: () => string,
): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} not ready:\n${output()}`);
    // The probe is the condition; the pause only spaces the attempts.
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('traces across the gateway, a service and the identity provider; the metrics dashboards use', {
  skip: await skipUnlessService('postgres'),
  timeout: 300_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-trace-'));
  const children: ChildProcess[] = [];
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let gatewayUrl: string;
  let idpOrigin: string;
  let authzUrl: string;
  let guardSecret: string;
  let db: TestSql;

  async function clientToken(clientId: string, secret: string, params: Record<string, string> = {}) {
    const res = await fetch(`${idpOrigin}/auth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
    });
    const body = (await res.json()) as { access_token?: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.access_token!;
  }

  before(async () => {
    db = await openTestSql('postgres');
    collector = await startCollector();
    const telemetry = { traces: { endpoint: collector.url, exportIntervalMs: 100 } };
    const idpPort = await freePort();
    idpOrigin = `http://127.0.0.1:${idpPort}`;
    const authzPort = await freePort();
    authzUrl = `http://127.0.0.1:${authzPort}`;
    writeFileSync(
      join(dir, 'idp.yaml'),
      stringify({
        server: { host: '127.0.0.1', port: idpPort, publicUrl: idpOrigin },
        storage: { driver: 'postgres', url: db.url },
        telemetry,
        idp: { resources: [authzUrl] },
      }),
    );
    const idp = run([bin, 'idp', '--config', join(dir, 'idp.yaml')]);
    children.push(idp.child);
    await waitUntil(
      'idp',
      async () => ((await fetch(`${idpOrigin}/auth/.well-known/openid-configuration`)).ok ? true : undefined),
      idp.output,
    );

    // The permission service, and a store in which demo-service may view document:plan only.
    const created = execFileSync(
      process.execPath,
      [
        bin,
        'admin',
        'create-client',
        '--config',
        join(dir, 'idp.yaml'),
        '--client-id',
        'guarded-service',
        '--grant',
        'client_credentials',
        '--scope',
        '',
        '--resource',
        `${authzUrl}=authz:read,authz:write`,
        '--json',
      ],
      { encoding: 'utf8', env: { ...process.env, GATEHOUSE_LOG__LEVEL: 'warn' } },
    );
    const client = JSON.parse(created) as { clientSecret?: string; client_secret?: string };
    guardSecret = (client.clientSecret ?? client.client_secret)!;
    writeFileSync(
      join(dir, 'authz.yaml'),
      stringify({
        server: { host: '127.0.0.1', publicUrl: authzUrl },
        storage: { driver: 'postgres', url: db.url },
        telemetry,
        authz: {
          auth: { issuer: `${idpOrigin}/auth`, audience: authzUrl, jwksUri: `${idpOrigin}/auth/jwks` },
        },
      }),
    );
    const authz = run([
      bin,
      'authz',
      'serve',
      '--config',
      join(dir, 'authz.yaml'),
      '--port',
      String(authzPort),
    ]);
    children.push(authz.child);
    await waitUntil(
      'authz',
      async () => ((await fetch(`${authzUrl}/health/ready`)).ok ? true : undefined),
      authz.output,
    );
    const writeToken = await clientToken('guarded-service', guardSecret, {
      resource: authzUrl,
      scope: 'authz:read authz:write',
    });
    const authzCall = async (path: string, body: unknown) => {
      const res = await fetch(`${authzUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${writeToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.ok(res.status === 200 || res.status === 201, `${res.status} ${await res.clone().text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const storeId = (await authzCall('/stores', { name: 'traces' }))['id'] as string;
    await authzCall(`/stores/${storeId}/authorization-models`, {
      schema_version: '1.1',
      type_definitions: [
        { type: 'client' },
        {
          type: 'document',
          relations: { viewer: { this: {} } },
          metadata: { relations: { viewer: { directly_related_user_types: [{ type: 'client' }] } } },
        },
      ],
    });
    await authzCall(`/stores/${storeId}/write`, {
      writes: { tuple_keys: [{ user: 'client:demo-service', relation: 'viewer', object: 'document:plan' }] },
    });
    const guarded = run([guardedScript], {
      COLLECTOR: collector.url,
      ISSUER: `${idpOrigin}/auth`,
      AUDIENCE: idpOrigin,
      AUTHZ_URL: authzUrl,
      STORE_ID: storeId,
      CLIENT_ID: 'guarded-service',
      CLIENT_SECRET: guardSecret,
    });
    children.push(guarded.child);
    const guardedUrl = await waitUntil(
      'guarded service',
      async () => /^(http:\S+)$/m.exec(guarded.output())?.[1],
      guarded.output,
    );

    const service = run([serviceScript], { COLLECTOR: collector.url, TOKEN_URL: `${idpOrigin}/auth/token` });
    children.push(service.child);
    const serviceUrl = await waitUntil(
      'service',
      async () => /^(http:\S+)$/m.exec(service.output())?.[1],
      service.output,
    );

    const gatewayPort = await freePort();
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    writeFileSync(
      join(dir, 'gateway.yaml'),
      stringify({
        server: { host: '127.0.0.1', port: gatewayPort, publicUrl: gatewayUrl },
        telemetry,
        gateway: {
          auth: { issuer: `${idpOrigin}/auth`, audiences: [idpOrigin], jwksUri: `${idpOrigin}/auth/jwks` },
          routes: [
            {
              id: 'shop',
              match: { path: '/shop' },
              upstreams: [serviceUrl],
              stripPrefix: true,
              policy: 'authenticated',
            },
            {
              id: 'docs',
              match: { path: '/docs' },
              upstreams: [guardedUrl],
              stripPrefix: true,
              policy: 'authenticated',
              forwardToken: true,
            },
          ],
        },
      }),
    );
    const gateway = run([bin, 'gateway', '--config', join(dir, 'gateway.yaml')]);
    children.push(gateway.child);
    await waitUntil(
      'gateway',
      async () => ((await fetch(`${gatewayUrl}/_gatehouse/health/ready`)).ok ? true : undefined),
      gateway.output,
    );
  });

  after(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    collector?.server.close();
    await db?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an allowed request: gateway → service → idp spans in one trace, parent by parent', async () => {
    const tokenRes = await fetch(`${idpOrigin}/auth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(tokenRes.status, 200);
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };

    const res = await fetch(`${gatewayUrl}/shop/orders?page=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { idpStatus: 200 });

    const gatewaySpan = await waitUntil(
      'the gateway span',
      async () =>
        collector.spans.find((s) => s.service === 'gatehouse-gateway' && attr(s, 'http.route') === 'shop'),
      () => JSON.stringify(collector.spans, null, 1),
    );
    const trace = gatewaySpan.traceId;
    const serviceSpan = await waitUntil(
      'the service span',
      async () => collector.spans.find((s) => s.service === 'shop-service' && s.traceId === trace),
      () => JSON.stringify(collector.spans, null, 1),
    );
    const idpSpan = await waitUntil(
      'the idp span',
      async () => collector.spans.find((s) => s.service === 'gatehouse-idp' && s.traceId === trace),
      () => JSON.stringify(collector.spans, null, 1),
    );

    assert.ok(!gatewaySpan.parentSpanId, 'the gateway starts the trace');
    assert.equal(serviceSpan.parentSpanId, gatewaySpan.spanId);
    assert.equal(idpSpan.parentSpanId, serviceSpan.spanId);
    assert.equal(attr(gatewaySpan, 'gatehouse.decision'), 'allow');
    assert.equal(attr(gatewaySpan, 'gatehouse.decision.reason'), 'authenticated');
    assert.equal(attr(gatewaySpan, 'gatehouse.client_id'), 'demo-service');
    assert.equal(attr(gatewaySpan, 'url.path'), '/shop/orders');
    assert.equal(attr(gatewaySpan, 'http.response.status_code'), 200);
    assert.equal(attr(idpSpan, 'url.path'), '/auth/token');
    assert.equal(attr(idpSpan, 'http.response.status_code'), 200);
    for (const body of collector.raw) {
      assert.ok(!body.includes(token), 'no export carries the access token');
      assert.ok(!body.includes('demo-service-secret') && !body.includes('Basic '), 'nor the client secret');
    }
  });

  test('a refused request: the gateway span says deny and why, and nothing goes upstream', async () => {
    const res = await fetch(`${gatewayUrl}/shop/orders`);
    assert.equal(res.status, 401);
    const span = await waitUntil(
      'the deny span',
      async () =>
        collector.spans.find(
          (s) => s.service === 'gatehouse-gateway' && attr(s, 'gatehouse.decision') === 'deny',
        ),
      () => JSON.stringify(collector.spans, null, 1),
    );
    assert.equal(attr(span, 'http.route'), 'shop');
    assert.equal(attr(span, 'gatehouse.decision.reason'), 'SDK_TOKEN_MISSING');
    assert.equal(attr(span, 'http.response.status_code'), 401);
    assert.equal(collector.spans.filter((s) => s.traceId === span.traceId).length, 1);
  });

  test('a guarded service: gateway → SDK guard → permission service spans in one trace, each with its decision', async () => {
    const token = await clientToken('demo-service', 'demo-service-secret');
    const allowed = await fetch(`${gatewayUrl}/docs/plan`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(allowed.status, 200);
    assert.deepEqual(await allowed.json(), { client: 'demo-service', traced: true });
    const denied = await fetch(`${gatewayUrl}/docs/secret`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(denied.status, 403);

    const spansOf = async (path: string) => {
      const gateway = await waitUntil(
        `the gateway span of ${path}`,
        async () =>
          collector.spans.find((s) => s.service === 'gatehouse-gateway' && attr(s, 'url.path') === path),
        () => JSON.stringify(collector.spans, null, 1),
      );
      const guard = await waitUntil(
        `the guard span of ${path}`,
        async () =>
          collector.spans.find((s) => s.service === 'guarded-service' && s.traceId === gateway.traceId),
        () => JSON.stringify(collector.spans, null, 1),
      );
      const authz = await waitUntil(
        `the authz span of ${path}`,
        async () =>
          collector.spans.find((s) => s.service === 'gatehouse-authz' && s.traceId === gateway.traceId),
        () => JSON.stringify(collector.spans, null, 1),
      );
      assert.equal(guard.parentSpanId, gateway.spanId, 'the guard span is the gateway span’s child');
      assert.equal(
        authz.parentSpanId,
        guard.spanId,
        'the permission service’s span is the guard span’s child',
      );
      return { gateway, guard, authz };
    };

    const allow = await spansOf('/docs/plan');
    assert.equal(attr(allow.guard, 'gatehouse.decision'), 'allow');
    assert.equal(attr(allow.guard, 'gatehouse.decision.reason'), 'permission');
    assert.equal(attr(allow.guard, 'gatehouse.client_id'), 'demo-service');
    assert.equal(attr(allow.guard, 'url.path'), '/plan');
    assert.equal(attr(allow.guard, 'http.response.status_code'), 200);
    assert.equal(attr(allow.authz, 'gatehouse.authz.operation'), 'check');
    assert.equal(attr(allow.authz, 'gatehouse.decision'), 'allow');
    assert.equal(attr(allow.authz, 'http.response.status_code'), 200);

    const deny = await spansOf('/docs/secret');
    assert.equal(attr(deny.guard, 'gatehouse.decision'), 'deny');
    assert.equal(attr(deny.guard, 'gatehouse.decision.reason'), 'SDK_PERMISSION_DENIED');
    assert.equal(attr(deny.guard, 'http.response.status_code'), 403);
    assert.equal(attr(deny.authz, 'gatehouse.decision'), 'deny');

    for (const body of collector.raw) {
      assert.ok(!body.includes(token), 'no export carries the access token');
      assert.ok(!body.includes(guardSecret), 'nor the guarded service’s client secret');
    }
  });

  test('every metric the Grafana dashboard and the Prometheus alerts name is exported', async () => {
    const dashboard = JSON.parse(readFileSync('deploy/observability/grafana-dashboard.json', 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const rules = parse(readFileSync('deploy/observability/prometheus-alerts.yaml', 'utf8')) as {
      groups: {
        rules: {
          alert: string;
          expr: string;
          labels: { severity: string };
          annotations: { summary: string };
        }[];
      }[];
    };
    const queries = [
      ...dashboard.panels.flatMap((p) =>
        p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
      ),
      ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ];
    assert.ok(dashboard.panels.length >= 8 && queries.length >= 16);
    for (const g of rules.groups) {
      for (const r of g.rules) {
        assert.match(r.labels.severity, /^(page|warn)$/, r.alert);
        assert.ok(r.annotations.summary, r.alert);
      }
    }

    // A failed login is counted where the alert reads it.
    const login = await fetch(`${idpOrigin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'not alice password at all' }),
    });
    assert.equal(login.status, 401);
    const idpMetrics = await (await fetch(`${idpOrigin}/metrics`)).text();
    assert.match(idpMetrics, /^gatehouse_idp_audit_events_total\{type="login\.failed",component="idp"\} 1$/m);
    assert.match(
      idpMetrics,
      /^gatehouse_idp_audit_events_total\{type="token\.issued",component="idp"\} [1-9]/m,
    );

    // What the processes export: each metric family's name, and a histogram's series names.
    const exported = new Set<string>();
    for (const url of [`${gatewayUrl}/_gatehouse/metrics`, `${idpOrigin}/metrics`]) {
      const text = await (await fetch(url)).text();
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(name!);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${name}${s}`);
      }
    }
    const missing: string[] = [];
    for (const q of queries) {
      const names = [...q.expr.matchAll(/\b((?:gatehouse|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
      assert.ok(names.length > 0, `${q.where} names no metric`);
      for (const n of names) if (!exported.has(n)) missing.push(`${q.where}: ${n}`);
    }
    assert.deepEqual(missing, []);
    // The identity provider's security events are what two alerts read.
    assert.ok(exported.has('gatehouse_idp_audit_events_total'));
  });
});
