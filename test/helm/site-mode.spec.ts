/**
 * helm/scprivacy in site mode (`mode: site`), rendered by real Helm: one institution's trainer
 * worker in the institution's own cluster and nothing central; the same worker Deployment as a
 * consortium's (shared templates, so they cannot drift), plus the consortium's API URL, the Redis
 * CA and the extra CA; a NetworkPolicy allowing only DNS and the consortium's ports; NOTES.txt's
 * next steps; and the validation messages of site values.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CI_DIR, type Dict, FULLNAME, type K8sObject, find, helmTemplate, readYaml, renderChart, renderNotes } from './render';
import { type Container, type PodTemplate, envOf, podTemplate } from './pods';

const WORKER = `${FULLNAME}-worker-hospital-a`;
const siteValues = readYaml(join(CI_DIR, 'site-values.yaml')) as { site: Dict; image: Dict; consortium: Dict };

type Rule = { ports: { port: number; protocol: string }[]; to?: Dict[] };
const names = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const container = (objects: K8sObject[], name = WORKER): Container =>
  podTemplate(find(objects, 'Deployment', name)).spec.containers[0];

describe('helm/scprivacy site mode, ci/site-values.yaml', () => {
  let objects: K8sObject[];
  let notes: string;
  beforeAll(async () => {
    [objects, notes] = await Promise.all([
      renderChart({ ciValues: ['site-values.yaml'] }),
      renderNotes({ ciValues: ['site-values.yaml'] }),
    ]);
  });

  it("should render only the institution's worker: Deployment, ServiceAccount, state PVC, NetworkPolicy", () => {
    expect(names(objects)).toEqual(
      [
        `Deployment/${WORKER}`,
        `NetworkPolicy/${WORKER}`,
        `PersistentVolumeClaim/${WORKER}-state`,
        `ServiceAccount/${WORKER}`,
      ].sort(),
    );
  });

  it("should run the worker as the institution, with its Secret, the consortium's API URL and its data", () => {
    const c = container(objects);
    expect(c.command).toEqual(['tini', '--', 'node', 'dist/trainer-worker/main.js']);
    expect(envOf(c, 'INSTITUTION')?.value).toBe('hospital-a');
    expect(envOf(c, 'API_URL')?.value).toBe('https://scprivacy.example.org');
    for (const key of ['WORKER_REDIS_URL', 'API_TOKEN', 'WORKER_KEY_PASSPHRASE'])
      expect(envOf(c, key)?.valueFrom?.secretKeyRef, key).toEqual({ name: 'scprivacy-site-hospital-a', key });
    expect(envOf(c, 'WORKER_STATE_DIR')?.value).toBe('/var/lib/scprivacy/state');
    expect(envOf(c, 'WORKER_HEALTH_PORT')?.value).toBe('3002');
    expect(envOf(c, 'SCPRIVACY_BACKEND')?.value).toBe('wasm');
    expect(envOf(c, 'WORKER_LOCK_MS')?.value).toBe('120000');
    // Nothing central: no platform, database or storage credentials, no shared ConfigMap.
    for (const central of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'SCPRIVACY_MASTER_KEY'])
      expect(envOf(c, central), central).toBeUndefined();
    expect(c.envFrom).toBeUndefined();
    expect(c.image).toBe('registry.hospital-a.example/scprivacy/scprivacy:0.1.0');
  });

  it('should mount the Redis CA and the extra CA read-only and point WORKER_REDIS_CA_FILE and NODE_EXTRA_CA_CERTS at them', () => {
    const pod = podTemplate(find(objects, 'Deployment', WORKER));
    const c = pod.spec.containers[0];
    for (const [env, volume] of [
      ['WORKER_REDIS_CA_FILE', 'redis-ca'],
      ['NODE_EXTRA_CA_CERTS', 'extra-ca'],
    ]) {
      const mount = c.volumeMounts!.find((m) => m.name === volume)!;
      expect(mount.readOnly, volume).toBe(true);
      const source = pod.spec.volumes!.find((v) => v.name === volume)!.secret!;
      expect(source.secretName).toBe('scprivacy-site-hospital-a-ca');
      expect(source.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
      // The variable names the file the volume puts there.
      expect(envOf(c, env)?.value).toBe(`${mount.mountPath}/${source.items![0].path}`);
    }
  });

  it('should mount the site data read-only at SITE_DATA_DIR, from its claim and subPath', () => {
    const pod = podTemplate(find(objects, 'Deployment', WORKER));
    const c = pod.spec.containers[0];
    expect(envOf(c, 'SITE_DATA_DIR')?.value).toBe('/site-data');
    expect(c.volumeMounts).toContainEqual({ name: 'site-data', mountPath: '/site-data', readOnly: true, subPath: 'scrna' });
    expect(pod.spec.volumes).toContainEqual({
      name: 'site-data',
      persistentVolumeClaim: { claimName: 'hospital-a-cohorts', readOnly: true },
    });
    expect(pod.spec.nodeSelector).toEqual({ 'scprivacy.io/pool': 'research' });
  });

  it('should keep the state PVC (the private key) on uninstall', () => {
    const pvc = find(objects, 'PersistentVolumeClaim', `${WORKER}-state`);
    expect(pvc.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(pvc.spec!.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec!.storageClassName).toBe('encrypted-ssd');
    expect((pvc.spec!.resources as Dict).requests).toEqual({ storage: '2Gi' });
    const state = podTemplate(find(objects, 'Deployment', WORKER)).spec.volumes!.find((v) => v.name === 'state')!;
    expect(state.persistentVolumeClaim!.claimName).toBe(`${WORKER}-state`);
  });

  it("should let the worker reach only DNS and the consortium's Redis, S3 and api ports, and accept nothing", () => {
    const policy = find(objects, 'NetworkPolicy', WORKER);
    const selector = (policy.spec!.podSelector as { matchLabels: Record<string, string> }).matchLabels;
    expect(podTemplate(find(objects, 'Deployment', WORKER)).metadata.labels).toMatchObject(selector);
    expect(selector['scprivacy.io/institution']).toBe('hospital-a');
    expect(policy.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec!.ingress).toEqual([]);
    expect(policy.spec!.egress as Rule[]).toEqual([
      {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
      {
        // s3Port and apiPort are both 443: listed once.
        ports: [
          { port: 6380, protocol: 'TCP' },
          { port: 443, protocol: 'TCP' },
        ],
        to: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
      },
    ]);
  });

  it('should tell the site what to do next in NOTES.txt', () => {
    expect(notes).toContain('scPrivacy site "hospital-a"');
    expect(notes).toContain(`kubectl -n scprivacy logs deploy/${WORKER}`);
    expect(notes).toContain(
      `kubectl -n scprivacy exec deploy/${WORKER} -- cat /var/lib/scprivacy/state/institution.csr.pem > hospital-a.csr.pem`,
    );
    expect(notes).toContain('certifyInstitution');
    expect(notes).toContain(`kubectl -n scprivacy rollout restart deploy/${WORKER}`);
    expect(notes).not.toContain('createConsortium');
    expect(notes).not.toContain('site.egress.to is empty');
  });
});

describe('helm/scprivacy site worker and consortium worker', () => {
  it('should be the same Deployment but for the API URL and the CA files (one template for both)', async () => {
    const { site } = siteValues;
    const asInstitution = { ...site, name: site.institution } as Dict;
    for (const key of ['institution', 'apiUrl', 'redisCa', 'extraCa', 'egress']) delete asInstitution[key];
    const [siteObjects, consortiumObjects] = await Promise.all([
      renderChart({ ciValues: ['site-values.yaml'] }),
      renderChart({
        ciValues: ['test-values.yaml'],
        values: { image: siteValues.image, consortium: siteValues.consortium, institutions: [asInstitution] },
      }),
    ]);
    const siteWorker = structuredClone(find(siteObjects, 'Deployment', WORKER));
    const consortiumWorker = find(consortiumObjects, 'Deployment', WORKER);
    // Take out what only a site has, and the API URL; the rest must be identical.
    const pod: PodTemplate = podTemplate(siteWorker);
    const c = pod.spec.containers[0];
    c.env = c.env!.filter((e) => !['WORKER_REDIS_CA_FILE', 'NODE_EXTRA_CA_CERTS'].includes(e.name));
    envOf(c, 'API_URL')!.value = envOf(container(consortiumObjects), 'API_URL')!.value;
    c.volumeMounts = c.volumeMounts!.filter((m) => !m.name.endsWith('-ca'));
    pod.spec.volumes = pod.spec.volumes!.filter((v) => !v.name.endsWith('-ca'));
    expect(siteWorker).toEqual(consortiumWorker);
    expect(find(siteObjects, 'PersistentVolumeClaim', `${WORKER}-state`)).toEqual(
      find(consortiumObjects, 'PersistentVolumeClaim', `${WORKER}-state`),
    );
    expect(find(siteObjects, 'ServiceAccount', WORKER)).toEqual(find(consortiumObjects, 'ServiceAccount', WORKER));
  });
});

describe('helm/scprivacy site mode with only the required values, and on a GPU node', () => {
  let minimal: K8sObject[];
  let minimalNotes: string;
  let gpu: K8sObject[];
  let gpuNotes: string;
  beforeAll(async () => {
    [minimal, minimalNotes, gpu, gpuNotes] = await Promise.all([
      renderChart({ ciValues: ['site-minimal-values.yaml'] }),
      renderNotes({ ciValues: ['site-minimal-values.yaml'] }),
      renderChart({ ciValues: ['site-gpu-hostpath-values.yaml'] }),
      renderNotes({ ciValues: ['site-gpu-hostpath-values.yaml'] }),
    ]);
  });

  it('should use the worker defaults, mount no CA, and allow the default ports to any destination', () => {
    const c = container(minimal);
    expect(envOf(c, 'SCPRIVACY_BACKEND')?.value).toBe('auto');
    expect(envOf(c, 'WORKER_REDIS_CA_FILE')).toBeUndefined();
    expect(envOf(c, 'NODE_EXTRA_CA_CERTS')).toBeUndefined();
    expect(envOf(c, 'SITE_DATA_DIR')).toBeUndefined();
    expect(c.image).toBe('scprivacy:0.1.0');
    expect(c.resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '8Gi' } });
    expect(podTemplate(find(minimal, 'Deployment', WORKER)).spec.volumes!.map((v) => v.name)).toEqual(['tmp', 'state']);
    const egress = find(minimal, 'NetworkPolicy', WORKER).spec!.egress as Rule[];
    expect(egress[1]).toEqual({
      ports: [
        { port: 6380, protocol: 'TCP' },
        { port: 443, protocol: 'TCP' },
      ],
    });
    // No consortium name in site mode: no empty consortium label either.
    for (const o of minimal) expect(o.metadata.labels).not.toHaveProperty('scprivacy.io/consortium');
    expect(minimalNotes).toContain('site.egress.to is empty, so the worker may reach TCP ports 6380, 443 on any');
  });

  it('should give a GPU site worker the GPU image, its GPUs and tensorflow-gpu, on a host path and an existing claim', () => {
    const lab = `${FULLNAME}-worker-lab-b`;
    expect(names(gpu)).toEqual([`Deployment/${lab}`, `ServiceAccount/${lab}`]);
    const pod = podTemplate(find(gpu, 'Deployment', lab));
    const c = pod.spec.containers[0];
    expect(c.image).toBe('scprivacy:0.1.0-gpu');
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(2);
    expect(envOf(c, 'SCPRIVACY_BACKEND')?.value).toBe('tensorflow-gpu');
    expect(envOf(c, 'API_URL')?.value).toBe('http://scprivacy.test.internal:3000');
    expect(pod.spec.volumes).toContainEqual({ name: 'state', persistentVolumeClaim: { claimName: 'lab-b-worker-state' } });
    expect(pod.spec.volumes).toContainEqual({
      name: 'site-data',
      hostPath: { path: '/srv/scrna/references', type: 'Directory' },
    });
    expect(gpuNotes).toContain('networkPolicy.enabled=false');
  });
});

describe('helm/scprivacy values validation (site mode)', () => {
  const failsWith = async (site: Dict, message: RegExp, more: Dict = {}) => {
    const result = await helmTemplate({ ciValues: ['site-values.yaml'], values: { site, ...more } });
    expect(result.status, `helm template should fail with ${message}`).not.toBe(0);
    expect(result.stderr).toMatch(message);
  };

  it('should require the institution and refuse a name the platform would refuse', async () => {
    await failsWith({ institution: '' }, /site\.institution is required in site mode/);
    await failsWith({ institution: 'Hospital_A' }, /site\.institution "Hospital_A": expected lower-case letters, digits and dashes/);
  });

  it("should require the consortium api's URL, over https unless allowed explicitly", async () => {
    await failsWith({ apiUrl: '' }, /site\.apiUrl is required in site mode/);
    await failsWith({ apiUrl: 'scprivacy.example.org' }, /site\.apiUrl "scprivacy\.example\.org": expected the consortium api's URL/);
    await failsWith({ apiUrl: 'http://scprivacy.example.org' }, /site\.apiUrl "http:\/\/scprivacy\.example\.org": expected https:\/\/.*site\.allowInsecureApi: true/);
    const allowed = await helmTemplate({
      ciValues: ['site-values.yaml'],
      values: { site: { apiUrl: 'http://api.test:3000', allowInsecureApi: true } },
    });
    expect(allowed.status, allowed.stderr).toBe(0);
  });

  it("should require the site's Secret", async () => {
    await failsWith({ existingSecret: '' }, /site\.existingSecret is required in site mode \(a Secret with WORKER_REDIS_URL, API_TOKEN and WORKER_KEY_PASSPHRASE/);
  });

  it('should refuse institutions in site mode, site data from two sources, bad ports and CA keys', async () => {
    await failsWith({}, /institutions is for mode: consortium/, { institutions: [{ name: 'a', existingSecret: 's' }] });
    await failsWith({ siteData: { existingClaim: 'c', hostPath: '/d' } }, /site: siteData takes existingClaim or hostPath, not both/);
    await failsWith({ egress: { redisPort: 70000 } }, /site\.egress\.redisPort 70000: expected a TCP port number \(1-65535\)/);
    await failsWith({ egress: { apiPort: 'https' } }, /site\.egress\.apiPort "https": expected a TCP port number/);
    await failsWith({ redisCa: { key: '../ca.crt' } }, /site\.redisCa\.key "\.\.\/ca\.crt": expected the key of the CA certificate/);
    await failsWith({ backend: 'cuda' }, /site: backend "cuda" is not one of auto/);
  });
});
