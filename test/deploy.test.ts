// The Kubernetes manifests cannot be applied here (no cluster); what can be checked is checked:
// every document parses, each component is a Deployment of at least two replicas with probes on the
// endpoints that verb really serves, an HPA and a PDB, only the gateway is public, and the
// configuration the ConfigMap carries passes the same validation `gatehouse` runs at start-up.
// The base and each overlay are rendered by kustomize itself (`kubectl kustomize`, no cluster
// needed) and every resource is validated against the Kubernetes OpenAPI schemas compiled into the
// kubernetes-models packages (types, required fields, enums; an unknown field is not reported by
// those schemas, so the fields that matter are asserted one by one below).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadGatehouseConfig } from '../packages/cli/src/load-config.ts';
import { productionProblems } from '../packages/cli/src/production-guard.ts';

type Doc = {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
};

const dir = 'deploy/kubernetes/base';
const docs: Doc[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => byKind(kind).find((d) => d.metadata.name === name);

describe('deploy/kubernetes/base', () => {
  test('every manifest listed in kustomization.yaml exists and parses', () => {
    const kustomization = docs.find((d) => d.kind === 'Kustomization') as unknown as { resources: string[] };
    for (const r of kustomization.resources) assert.ok(readdirSync(dir).includes(r), r);
  });

  for (const [component, ready, live] of [
    ['idp', '/health/ready', '/health/live'],
    ['gateway', '/_gatehouse/health/ready', '/_gatehouse/health/live'],
    ['authz', '/health/ready', '/health/live'],
  ] as const) {
    test(`${component}: two replicas or more, running its own verb, probed where it answers`, () => {
      interface Probe {
        httpGet: { path: string };
      }
      const d = named('Deployment', `gatehouse-${component}`) as unknown as {
        spec: {
          replicas: number;
          template: {
            spec: { containers: { args: string[]; readinessProbe: Probe; livenessProbe: Probe }[] };
          };
        };
      };
      assert.ok(d.spec.replicas >= 2);
      const c = d.spec.template.spec.containers[0]!;
      assert.equal(c.args[0], component);
      if (component === 'authz') assert.equal(c.args[1], 'serve');
      assert.equal(c.readinessProbe.httpGet.path, ready);
      assert.equal(c.livenessProbe.httpGet.path, live);
      assert.ok(named('HorizontalPodAutoscaler', `gatehouse-${component}`));
      assert.ok(named('PodDisruptionBudget', `gatehouse-${component}`));
      assert.ok(named('Service', `gatehouse-${component}`));
    });
  }

  test('the identity provider accepts traffic from the gateway only', () => {
    const p = named('NetworkPolicy', 'gatehouse-idp-from-gateway-only') as unknown as {
      spec: { ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[] }[] };
    };
    assert.deepEqual(p.spec.ingress[0]!.from[0]!.podSelector.matchLabels, {
      'app.kubernetes.io/name': 'gatehouse-gateway',
    });
  });

  test('the ConfigMap configuration validates and passes the production checks with the Secret set', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-deploy-')), 'gatehouse.yaml');
    writeFileSync(file, named('ConfigMap', 'gatehouse-config')!.data!['gatehouse.yaml']!);
    const secret = parseAllDocuments(readFileSync(join(dir, 'secret.example.yaml'), 'utf8'))[0]!.toJS() as {
      stringData: Record<string, string>;
    };
    const config = loadGatehouseConfig(file, { ...secret.stringData });
    assert.equal(config.mode, 'production');
    assert.equal(config.storage.driver, 'postgres');
    assert.equal(config.state.driver, 'redis');
    assert.deepEqual(productionProblems(config), []);
  });
});

interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

/** `kubectl kustomize DIR`: the resources kustomize would apply, as objects. */
function render(kustomizeDir: string): K8sDoc[] {
  const r = spawnSync('kubectl', ['kustomize', kustomizeDir], { encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `kubectl is needed to render the overlays (scripts/install-peers.sh): ${r.error.message}`,
    );
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sDoc);
}

/** Validate one resource with its kubernetes-models class (the OpenAPI schema of its apiVersion/kind). */
async function validate(doc: K8sDoc): Promise<void> {
  const mod = (await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`)) as Record<
    string,
    new (
      d: unknown,
    ) => { validate(): void }
  >;
  const Model = mod[doc.kind];
  assert.ok(Model, `no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

type PodSpec = {
  securityContext?: { runAsNonRoot?: boolean };
  affinity?: { podAntiAffinity?: unknown };
  containers: {
    name: string;
    readinessProbe?: { periodSeconds?: number };
    livenessProbe?: { periodSeconds?: number; failureThreshold?: number };
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  }[];
};
const podSpec = (d: K8sDoc) => (d.spec as { template: { spec: PodSpec } }).template.spec;
const components = ['gatehouse-gateway', 'gatehouse-idp', 'gatehouse-authz'];

describe('kustomize base and overlays against the Kubernetes OpenAPI schemas', () => {
  const rendered: Record<string, K8sDoc[]> = {};
  for (const name of ['base', 'overlays/dev', 'overlays/prod']) {
    test(`${name}: renders and every resource validates`, async () => {
      const docs = render(`deploy/kubernetes/${name}`);
      rendered[name] = docs;
      assert.ok(docs.length >= 15);
      for (const d of docs) {
        if (d.kind !== 'Namespace')
          assert.equal(d.metadata.namespace, 'gatehouse', `${d.kind} ${d.metadata.name}`);
        await validate(d);
      }
    });
  }

  test('the validation refuses what the API server would: a wrong type, a missing required field', async () => {
    const deployment = structuredClone(rendered.base!.find((d) => d.kind === 'Deployment')!);
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    await assert.rejects(validate(deployment), /replicas must be integer/);
    const service = structuredClone(rendered.base!.find((d) => d.kind === 'Service')!);
    (service.spec as { ports: { port?: number }[] }).ports[0]!.port = undefined;
    delete (service.spec as { ports: { port?: number }[] }).ports[0]!.port;
    await assert.rejects(validate(service), /port/);
  });

  test('prod: 3 replicas spread over nodes, HPA at 50 % CPU from 3, PDB keeping 2, probes, limits, locked-down pods', () => {
    const docs = rendered['overlays/prod']!;
    const find = (kind: string, name: string) =>
      docs.find((d) => d.kind === kind && d.metadata.name === name);
    for (const name of components) {
      const d = find('Deployment', name)!;
      assert.ok((d.spec as { replicas: number }).replicas >= 3, name);
      const pod = podSpec(d);
      assert.ok(pod.affinity?.podAntiAffinity, `${name}: anti-affinity`);
      assert.equal(pod.securityContext?.runAsNonRoot, true, name);
      for (const c of pod.containers) {
        assert.equal(c.livenessProbe?.periodSeconds, 10, name);
        assert.equal(c.livenessProbe?.failureThreshold, 3, name);
        assert.ok(c.readinessProbe, name);
        assert.ok(
          c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory,
          name,
        );
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, name);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, name);
      }
      const hpa = find('HorizontalPodAutoscaler', name)!.spec as {
        minReplicas: number;
        metrics: { resource: { name: string; target: { averageUtilization: number } } }[];
      };
      assert.ok(hpa.minReplicas >= 3);
      assert.deepEqual(
        hpa.metrics.map((m) => [m.resource.name, m.resource.target.averageUtilization]),
        [['cpu', 50]],
      );
      assert.ok((find('PodDisruptionBudget', name)!.spec as { minAvailable: number }).minAvailable >= 2);
    }
  });

  test('every overlay: only the gateway is open to anyone; everything else is denied by default', () => {
    for (const name of ['base', 'overlays/dev', 'overlays/prod']) {
      const policies = rendered[name]!.filter((d) => d.kind === 'NetworkPolicy').map(
        (d) =>
          d.spec as {
            podSelector: { matchLabels?: Record<string, string> };
            ingress?: { from?: unknown[] }[];
          },
      );
      // A rule without `from` admits every source: only the gateway's policy may have one.
      const open = policies.filter((p) => (p.ingress ?? []).some((r) => r.from === undefined));
      assert.deepEqual(
        open.map((p) => p.podSelector.matchLabels),
        [{ 'app.kubernetes.io/name': 'gatehouse-gateway' }],
        name,
      );
      const denyAll = policies.find(
        (p) =>
          Object.keys(p.podSelector).length === 0 ||
          Object.keys(p.podSelector.matchLabels ?? {}).length === 0,
      );
      assert.ok(denyAll && (denyAll.ingress ?? []).length === 0, `${name}: a default-deny policy`);
    }
  });

  test('dev: self-contained, with PostgreSQL and Redis, and its Secret passes the production checks', () => {
    const docs = rendered['overlays/dev']!;
    for (const [kind, name] of [
      ['StatefulSet', 'postgres'],
      ['Service', 'postgres'],
      ['Deployment', 'redis'],
      ['Service', 'redis'],
      ['Secret', 'gatehouse-secrets'],
    ]) {
      assert.ok(
        docs.find((d) => d.kind === kind && d.metadata.name === name),
        `${kind} ${name}`,
      );
    }
    const secret = docs.find((d) => d.kind === 'Secret')!.stringData!;
    assert.match(secret.GATEHOUSE_STORAGE__URL!, /@postgres:5432\//);
    assert.match(secret.GATEHOUSE_STATE__URL!, /^redis:\/\/redis:6379/);
    const file = join(mkdtempSync(join(tmpdir(), 'gh-deploy-dev-')), 'gatehouse.yaml');
    writeFileSync(file, docs.find((d) => d.kind === 'ConfigMap')!.data!['gatehouse.yaml']!);
    const config = loadGatehouseConfig(file, { ...secret });
    assert.deepEqual(productionProblems(config), []);
  });
});
