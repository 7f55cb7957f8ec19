/**
 * Every chart-testing values file (helm/scprivacy/ci/*-values.yaml), through real Helm at the
 * lowest Kubernetes version the chart claims and at the version of the API schemas we validate
 * against: `helm lint --strict` passes, `helm template` renders, and every rendered object is
 * valid against the Kubernetes API schemas (kubernetes-models), has no field those schemas do not
 * define, and, for workloads, the pod hardening the chart promises.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, ciValuesFiles, helmLint, helmTemplate, renderChart } from './render';
import {
  FLOOR_SCHEMA_KUBERNETES_VERSION,
  SCHEMA_KUBERNETES_VERSION,
  type SchemaVersion,
  schemaErrors,
  unknownFields,
} from './k8s-schema';
import { podHardeningProblems, workloads } from './pods';

/** The chart's kubeVersion is ">=1.25.0-0": its floor, and the newest schemas' release. */
const KUBE_VERSIONS = ['1.25.0', SCHEMA_KUBERNETES_VERSION];
/** The schemas each render is validated against: 1.25's for the floor. */
const SCHEMAS: Record<string, SchemaVersion> = {
  '1.25.0': FLOOR_SCHEMA_KUBERNETES_VERSION,
  [SCHEMA_KUBERNETES_VERSION]: SCHEMA_KUBERNETES_VERSION,
};
const VALUES_FILES = ciValuesFiles();

describe('helm/scprivacy values matrix', () => {
  it('should cover the cases chart-testing and the docs rely on', () => {
    for (const f of [
      'minimal-values.yaml',
      'gpu-values.yaml',
      'ingress-values.yaml',
      'existing-secrets-values.yaml',
      'networkpolicy-off-values.yaml',
      'site-minimal-values.yaml',
      'site-values.yaml',
      'site-gpu-hostpath-values.yaml',
    ])
      expect(VALUES_FILES).toContain(f);
  });

  const rendered = new Map<string, K8sObject[]>();
  const lintOutput = new Map<string, { status: number; output: string }>();
  beforeAll(async () => {
    // ~40 helm runs of ~0.1 s each, a few at a time (runHelm limits how many run at once).
    const jobs = VALUES_FILES.flatMap((file) =>
      KUBE_VERSIONS.map(async (kubeVersion) => {
        const key = `${file}@${kubeVersion}`;
        const [objects, lint] = await Promise.all([
          renderChart({ ciValues: [file], kubeVersion }),
          helmLint({ ciValues: [file], kubeVersion }),
        ]);
        rendered.set(key, objects);
        lintOutput.set(key, { status: lint.status, output: lint.stdout + lint.stderr });
      }),
    );
    await Promise.all(jobs);
  });

  describe.each(VALUES_FILES)('%s', (file) => {
    it.each(KUBE_VERSIONS)('should pass helm lint --strict for Kubernetes %s', (kubeVersion) => {
      const lint = lintOutput.get(`${file}@${kubeVersion}`)!;
      expect(lint.status, lint.output).toBe(0);
      expect(lint.output).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(lint.output).not.toMatch(/\[(WARNING|ERROR)\]/);
    });

    it.each(KUBE_VERSIONS)('should render objects valid against the Kubernetes API schemas (%s)', (kubeVersion) => {
      const objects = rendered.get(`${file}@${kubeVersion}`)!;
      expect(objects.length).toBeGreaterThan(0);
      const schemas = SCHEMAS[kubeVersion];
      expect(objects.flatMap((o) => schemaErrors(o, schemas))).toEqual([]);
      expect(objects.flatMap((o) => unknownFields(o, schemas))).toEqual([]);
    });

    it('should render the same objects for every Kubernetes version it supports', () => {
      // No template depends on .Capabilities today; this fails when one starts to.
      const [lowest, ...others] = KUBE_VERSIONS.map((v) => rendered.get(`${file}@${v}`));
      for (const other of others) expect(other).toEqual(lowest);
    });

    it('should harden every pod: non-root, read-only root, no token, resources, probes', () => {
      const objects = rendered.get(`${file}@${SCHEMA_KUBERNETES_VERSION}`)!;
      expect(workloads(objects).length).toBeGreaterThan(0);
      expect(workloads(objects).flatMap(podHardeningProblems)).toEqual([]);
    });

    it('should give every object a unique kind and name, valid names and the release labels', () => {
      const objects = rendered.get(`${file}@${SCHEMA_KUBERNETES_VERSION}`)!;
      const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const o of objects) {
        expect(o.metadata.name, `${o.kind}/${o.metadata.name}`).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
        expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind}/${o.metadata.name}`).toBe('pbmc');
        expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      }
    });
  });

  it('should refuse a Kubernetes version below the one the chart claims', async () => {
    const result = await helmTemplate({ ciValues: ['minimal-values.yaml'], kubeVersion: '1.24.17' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.17');
  });
});

describe('the schema check itself', () => {
  const deployment = () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x', labels: { a: 'b' } },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '1Gi' } } }] },
      },
    },
  });

  it('should accept a valid object', () => {
    expect(schemaErrors(deployment())).toEqual([]);
    expect(unknownFields(deployment())).toEqual([]);
  });

  it('should report a wrong type, a missing required field and a value outside an enum', () => {
    const wrongType = { ...deployment(), spec: { ...deployment().spec, replicas: '1' } };
    expect(schemaErrors(wrongType).join()).toContain('data/spec/replicas must be integer');
    const noContainers = { ...deployment(), spec: { ...deployment().spec, template: { spec: {} } } };
    expect(schemaErrors(noContainers).join()).toContain('data/spec/template/spec must have required property containers');
    const badStrategy = { ...deployment(), spec: { ...deployment().spec, strategy: { type: 'Replace' } } };
    expect(schemaErrors(badStrategy).join()).toContain('data/spec/strategy/type must be equal to one of the allowed values');
  });

  it('should report fields the schema does not define, at any depth, but not map keys', () => {
    const typo = deployment();
    Object.assign(typo.spec.template.spec.containers[0], { imagePullPolcy: 'Always' });
    Object.assign(typo.spec, { replica: 2 });
    expect(unknownFields(typo).sort()).toEqual([
      'apps/v1 Deployment x: spec.replica',
      'apps/v1 Deployment x: spec.template.spec.containers[0].imagePullPolcy',
    ]);
  });

  it('should know what 1.25 lacks: a field added after 1.25 is unknown to its schemas only', () => {
    // Pod-level resources (PodSpec.resources) arrived in Kubernetes 1.32.
    const newer = deployment();
    Object.assign(newer.spec.template.spec, { resources: { limits: { cpu: '1' } } });
    expect(unknownFields(newer, SCHEMA_KUBERNETES_VERSION)).toEqual([]);
    expect(unknownFields(newer, FLOOR_SCHEMA_KUBERNETES_VERSION)).toEqual([
      'apps/v1 Deployment x: spec.template.spec.resources',
    ]);
    expect(schemaErrors(deployment(), FLOOR_SCHEMA_KUBERNETES_VERSION)).toEqual([]);
    const wrongType = { ...deployment(), spec: { ...deployment().spec, replicas: '1' } };
    expect(schemaErrors(wrongType, FLOOR_SCHEMA_KUBERNETES_VERSION).join()).toContain('replicas must be integer');
  });

  it('should refuse a kind it has no schema for', () => {
    const crd = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' } };
    expect(() => schemaErrors(crd)).toThrow(/monitoring\.coreos\.com\/v1 ServiceMonitor m: no Kubernetes [\d.]+ schema/);
    expect(() => unknownFields(crd)).toThrow(/no Kubernetes [\d.]+ schema/);
  });
});
