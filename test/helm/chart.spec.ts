/**
 * Checks of helm/scprivacy that need no helm binary (none is installable on the test machines):
 *   - Chart.yaml, values.yaml and ci/*.yaml parse; every `.Values.x.y` a template reads exists
 *     in values.yaml; every template's `{{ }}` and block keywords balance;
 *   - the chart rendered by test/helm/go-template.ts (a subset of Helm's template language,
 *     not Helm) with ci/*-values.yaml gives valid YAML whose objects are what the chart promises:
 *     a worker Deployment per institution, GPU settings, hooks, security contexts, probes,
 *     network policies, and references (Secrets, PVCs, ServiceAccounts, selectors) that resolve.
 * `helm lint` / `helm template` / a real install remain to do where helm exists (docs/deployment.md).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ChartRenderer, TemplateFailure, coalesceValues } from './go-template';

const CHART_DIR = fileURLToPath(new URL('../../helm/scprivacy', import.meta.url));
const TEMPLATES_DIR = join(CHART_DIR, 'templates');
const RELEASE = 'pbmc';
const NAMESPACE = 'scprivacy';

type Dict = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Dict;
  [key: string]: unknown;
}

/** Kubernetes reads YAML 1.1 (`yes`/`no` are booleans there): parse values the same way. */
function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'), { version: '1.1' });
}

const chart = readYaml(join(CHART_DIR, 'Chart.yaml')) as Dict;
const defaults = readYaml(join(CHART_DIR, 'values.yaml')) as Dict;
const templateFiles = readdirSync(TEMPLATES_DIR).sort();
const sources = templateFiles.map((f) => ({
  file: f,
  name: `scprivacy/templates/${f}`,
  source: readFileSync(join(TEMPLATES_DIR, f), 'utf8'),
}));
const renderer = new ChartRenderer(sources);

function root(values: Dict): Dict {
  return {
    Values: values,
    Release: { Name: RELEASE, Namespace: NAMESPACE, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Template: { BasePath: 'scprivacy/templates', Name: '' },
    Capabilities: { KubeVersion: { Version: 'v1.30.0' } },
  };
}

/** Renders every manifest template like `helm template`: the objects, and NOTES.txt. */
function renderChart(overrides: unknown): { objects: K8sObject[]; notes: string } {
  const top = root(coalesceValues(defaults, overrides) as Dict);
  const objects: K8sObject[] = [];
  for (const { file, name } of sources) {
    if (file.startsWith('_') || file === 'NOTES.txt') continue;
    const text = renderer.render(name, top);
    for (const doc of parseAllDocuments(text, { version: '1.1' })) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}\n${text}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj !== null) objects.push(obj);
    }
  }
  return { objects, notes: renderer.render('scprivacy/templates/NOTES.txt', top) };
}

const testValues = readYaml(join(CHART_DIR, 'ci', 'test-values.yaml')) as Dict;
const existingSecretsValues = readYaml(join(CHART_DIR, 'ci', 'existing-secrets-values.yaml')) as Dict;
const FULLNAME = `${RELEASE}-scprivacy`;

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return obj;
}

// Small typed accessors into pod specs.
interface Container {
  name: string;
  image: string;
  command: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  resources?: { limits?: Dict; requests?: Dict };
  securityContext?: Dict;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  securityContext?: Dict;
  containers: Container[];
  volumes?: { name: string; emptyDir?: Dict; persistentVolumeClaim?: { claimName: string }; hostPath?: Dict }[];
  nodeSelector?: Dict;
  tolerations?: Dict[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}
function podTemplate(obj: K8sObject): PodTemplate {
  return obj.spec!.template as PodTemplate;
}
function envOf(c: Container, name: string) {
  return c.env?.find((e) => e.name === name);
}
function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
}

describe('helm/scprivacy chart files', () => {
  it('should have a v2 Chart.yaml with a semver version', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('scprivacy');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof chart.appVersion).toBe('string');
  });

  it('should parse values.yaml and every ci values file', () => {
    expect(defaults).toHaveProperty('institutions');
    for (const f of readdirSync(join(CHART_DIR, 'ci'))) expect(readYaml(join(CHART_DIR, 'ci', f))).toBeTypeOf('object');
  });

  it('should define in values.yaml every .Values path the templates read', () => {
    const missing: string[] = [];
    for (const { file, source } of sources) {
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

  it('should balance {{ }} and block keywords in every template', () => {
    for (const { file, source } of sources) {
      const opens = source.match(/\{\{/g)?.length ?? 0;
      const closes = source.match(/\}\}/g)?.length ?? 0;
      expect(closes, `${file}: {{ vs }}`).toBe(opens);
      const actions = [...source.matchAll(/\{\{-?\s*(if|range|with|define|end)\b/g)].map((m) => m[1]);
      const blocks = actions.filter((a) => a !== 'end').length;
      expect(actions.filter((a) => a === 'end').length, `${file}: blocks vs {{ end }}`).toBe(blocks);
    }
  });
});

describe('helm/scprivacy rendered with ci/test-values.yaml', () => {
  const { objects, notes } = renderChart(testValues);
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

  it('should run every pod as non-root with a read-only root filesystem, /tmp, no token and probes', () => {
    for (const w of workloads(objects)) {
      const spec = podTemplate(w).spec;
      const where = `${w.kind}/${w.metadata.name}`;
      expect(spec.automountServiceAccountToken, where).toBe(false);
      expect(spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(spec.volumes?.find((v) => v.name === 'tmp')?.emptyDir, where).toBeDefined();
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        if (w.kind === 'Job') continue;
        expect(spec.restartPolicy, where).toBe('Always');
        const portNames = (c.ports ?? []).map((p) => p.name);
        expect(c.livenessProbe?.httpGet.path, where).toBe('/health/live');
        expect(c.readinessProbe?.httpGet.path, where).toBe('/health/ready');
        expect(portNames, where).toContain(c.livenessProbe?.httpGet.port);
      }
    }
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
  const { objects, notes } = renderChart(existingSecretsValues);

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

describe('helm/scprivacy rendered with its optional parts off', () => {
  const minimal = {
    consortium: { name: 'demo' },
    postgres: { url: 'postgresql://u:p@pg:5432/db' },
    redis: { url: 'redis://r:6379' },
    s3: { endpoint: 'minio', accessKey: 'a', secretKey: 'b' },
    platform: { masterKey: 'm'.repeat(32), adminToken: 't'.repeat(16) },
    networkPolicy: { enabled: false },
    api: { podDisruptionBudget: { enabled: false } },
    migrations: { enabled: false },
  };

  it('should render only the api, the aggregator and their configuration', () => {
    const { objects, notes } = renderChart(minimal);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/pbmc-scprivacy-config',
        'Deployment/pbmc-scprivacy-aggregator',
        'Deployment/pbmc-scprivacy-api',
        'Secret/pbmc-scprivacy-platform',
        'Service/pbmc-scprivacy-api',
        'ServiceAccount/pbmc-scprivacy-aggregator',
        'ServiceAccount/pbmc-scprivacy-api',
      ].sort(),
    );
    expect(notes).toContain('No institutions yet');
    expect(notes).toContain('networkPolicy.enabled=false');
  });
});

describe('helm/scprivacy values validation', () => {
  const failsWith = (overrides: Dict, message: RegExp) => {
    expect(() => renderChart(coalesceValues(testValues, overrides))).toThrow(TemplateFailure);
    expect(() => renderChart(coalesceValues(testValues, overrides))).toThrow(message);
  };

  it('should require the consortium name', () => {
    failsWith({ consortium: { name: '' } }, /consortium\.name is required/);
  });

  it('should refuse an institution name the platform would refuse', () => {
    failsWith({ institutions: [{ name: 'Hospital_A', existingSecret: 's' }] }, /institutions\[0\]\.name "Hospital_A"/);
  });

  it('should refuse an institution listed twice', () => {
    const twice = [
      { name: 'a', existingSecret: 's' },
      { name: 'a', existingSecret: 't' },
    ];
    failsWith({ institutions: twice }, /"a" is listed twice/);
  });

  it("should require each institution's worker secret", () => {
    failsWith({ institutions: [{ name: 'a' }] }, /institutions\[0\] \(a\): existingSecret is required/);
  });

  it('should require credentials given neither as values nor as existing secrets', () => {
    failsWith({ platform: { masterKey: '' } }, /platform\.masterKey is required/);
  });

  it('should refuse a master key or admin token the api would refuse', () => {
    failsWith({ platform: { masterKey: 'short' } }, /platform\.masterKey must be at least 32 characters/);
    failsWith({ platform: { adminToken: 'short' } }, /platform\.adminToken must be at least 16 characters/);
  });

  it('should refuse site data given both as a claim and as a host path', () => {
    const both = [{ name: 'a', existingSecret: 's', siteData: { existingClaim: 'c', hostPath: '/d' } }];
    failsWith({ institutions: both }, /siteData takes existingClaim or hostPath, not both/);
  });

  it('should refuse a bucket name S3 would refuse', () => {
    failsWith({ s3: { bucket: 'Bad_Bucket' } }, /s3\.bucket "Bad_Bucket"/);
  });
});
