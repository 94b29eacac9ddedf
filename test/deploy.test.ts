// The Kubernetes manifests cannot be applied here (no cluster); what can be checked is checked:
// every document parses, each component is a Deployment of at least two replicas with probes on the
// endpoints that verb really serves, an HPA and a PDB, only the gateway is public, and the
// configuration the ConfigMap carries passes the same validation `gatehouse` runs at start-up.
import assert from 'node:assert/strict';
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

const dir = 'deploy/kubernetes';
const docs: Doc[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => byKind(kind).find((d) => d.metadata.name === name);

describe('deploy/kubernetes', () => {
  test('every manifest listed in kustomization.yaml exists and parses', () => {
    const kustomization = docs.find((d) => d.kind === 'Kustomization') as unknown as { resources: string[] };
    for (const r of kustomization.resources) assert.ok(readdirSync(dir).includes(r), r);
  });

  for (const [component, ready, live] of [
    ['idp', '/health/ready', '/health/live'],
    ['gateway', '/_gatehouse/health/ready', '/_gatehouse/health/live'],
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
