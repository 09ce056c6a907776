/**
 * The production manifests give each component only the secrets it uses, key by key, from a Secret of its own
 * (deploy/k8s): the API never holds the schema owner's or the relay's database URL. The expected keys are the
 * ones each process loads (platform/config/components.ts), so the manifests and the code cannot drift apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { COMPONENT_SECRETS, type Component } from '../../platform/config';

const K8S = path.resolve(__dirname, '../../deploy/k8s');

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}
interface Workload {
  kind: string;
  metadata: { name: string };
  spec: { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } };
}

/** Which component a container runs, by its entry point. */
function componentOf(c: Container): Component {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  if (cmd.includes('dist/api/server.js')) return 'api';
  if (cmd.includes('dist/workers/main.js')) return 'worker';
  if (cmd.includes('dist/workers/relay.js')) return 'relay';
  if (cmd.includes('dist/workers/consumers.js')) return 'consumers';
  if (cmd.includes('dist/scripts/migrate.js')) return 'setup';
  if (cmd.includes('dist/scripts/pii-erase.js')) return 'pii-erase';
  throw new Error(`container ${c.name} runs an entry point this test does not know: ${cmd}`);
}

const workloads: Workload[] = fs
  .readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(K8S, f), 'utf8')).map((d) => d.toJSON() as Workload))
  .filter((d) => ['Deployment', 'Job', 'CronJob', 'StatefulSet', 'DaemonSet'].includes(d.kind));

const pods = workloads.map((w) => ({ name: w.metadata.name, spec: (w.spec.template ?? w.spec.jobTemplate!.spec.template).spec }));
const containers = pods.flatMap((p) => [...p.spec.containers, ...(p.spec.initContainers ?? [])].map((c) => ({ workload: p.name, c, component: componentOf(c) })));

/** The secret keys a container's pod spec references: env name -> (Secret, key). */
const secretRefs = (c: Container) => (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => ({ env: e.name, ...e.valueFrom!.secretKeyRef! }));

describe('Kubernetes secrets per component', () => {
  it('finds a workload for every component', () => {
    expect(new Set(containers.map((x) => x.component))).toEqual(new Set(Object.keys(COMPONENT_SECRETS)));
  });

  it('never hands a container a whole Secret (envFrom or a secret volume): keys are named one by one', () => {
    expect(containers.filter(({ c }) => (c.envFrom ?? []).some((e) => e.secretRef)).map((x) => x.workload)).toEqual([]);
    expect(pods.filter((p) => (p.spec.volumes ?? []).some((v) => v.secret)).map((p) => p.name)).toEqual([]);
  });

  it.each(containers.map((x) => [x.workload, x.component, x.c] as const))('%s (%s) references exactly its component’s secret keys, from its own Secret', (_w, component, c) => {
    const refs = secretRefs(c);
    expect(refs.map((r) => r.key).sort()).toEqual([...COMPONENT_SECRETS[component]].sort());
    expect(new Set(refs.map((r) => r.name))).toEqual(new Set([`finflow-${component}-secrets`]));
    expect(refs.filter((r) => r.env !== r.key)).toEqual([]);
  });

  it('the API never holds the schema owner or relay database URL', () => {
    const api = containers.filter((x) => x.component === 'api');
    expect(api.length).toBeGreaterThan(0);
    for (const { c } of api) {
      const names = [...secretRefs(c).map((r) => r.key), ...(c.env ?? []).map((e) => e.name)];
      expect(names).not.toContain('DATABASE_MIGRATION_URL');
      expect(names).not.toContain('DATABASE_RELAY_URL');
    }
  });
});
