/**
 * Typed access to the pods of rendered workloads, and the hardening every pod of the chart must
 * have whatever the values (what the API schemas cannot check).
 */
import type { Dict, K8sObject } from './render';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
export interface Probe {
  httpGet: { path: string; port: string };
}
export interface Container {
  name: string;
  image: string;
  command: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  resources?: { limits?: Dict; requests?: Dict };
  securityContext?: Dict;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
export interface Volume {
  name: string;
  emptyDir?: Dict;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  hostPath?: Dict;
  secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
}
export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  securityContext?: Dict;
  containers: Container[];
  volumes?: Volume[];
  nodeSelector?: Dict;
  tolerations?: Dict[];
}
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export function podTemplate(obj: K8sObject): PodTemplate {
  return obj.spec!.template as PodTemplate;
}
export function envOf(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}
export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
}

/**
 * What is wrong with a workload's pod against the chart's promises (docs/deployment.md, "Pods"):
 * non-root uid 10001, RuntimeDefault seccomp, no service-account token; each container with
 * resources (requests and a memory limit), a read-only root filesystem, no privilege escalation,
 * all capabilities dropped, a /tmp emptyDir; long-running pods restart always and have HTTP
 * liveness and readiness probes on a port they declare. [] when nothing is.
 */
export function podHardeningProblems(w: K8sObject): string[] {
  const where = `${w.kind}/${w.metadata.name}`;
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${where}: ${what}`);
  };
  const spec = podTemplate(w).spec;
  const pod = spec.securityContext ?? {};
  expect(spec.automountServiceAccountToken === false, 'automountServiceAccountToken is not false');
  expect(pod.runAsNonRoot === true && pod.runAsUser === 10001, 'pod does not run as non-root uid 10001');
  expect((pod.seccompProfile as Dict | undefined)?.type === 'RuntimeDefault', 'no RuntimeDefault seccomp profile');
  const tmp = spec.volumes?.find((v) => v.name === 'tmp');
  expect(tmp?.emptyDir !== undefined, 'no /tmp emptyDir volume');
  if (w.kind === 'Deployment') expect(spec.restartPolicy === 'Always', 'restartPolicy is not Always');
  for (const c of spec.containers) {
    const at = (what: string) => `container ${c.name}: ${what}`;
    const sc = c.securityContext ?? {};
    expect(sc.readOnlyRootFilesystem === true, at('root filesystem is not read-only'));
    expect(sc.allowPrivilegeEscalation === false, at('privilege escalation is not disabled'));
    expect(sc.runAsNonRoot === true, at('runAsNonRoot is not set'));
    const drop = ((sc.capabilities as Dict | undefined)?.drop as string[] | undefined) ?? [];
    expect(drop.includes('ALL'), at('capabilities are not all dropped'));
    expect(c.resources?.requests?.cpu !== undefined, at('no CPU request'));
    expect(c.resources?.requests?.memory !== undefined, at('no memory request'));
    expect(c.resources?.limits?.memory !== undefined, at('no memory limit'));
    expect(
      (c.volumeMounts ?? []).some((m) => m.name === 'tmp' && m.mountPath === '/tmp'),
      at('/tmp is not mounted'),
    );
    if (w.kind === 'Job') continue;
    const ports = (c.ports ?? []).map((p) => p.name);
    for (const [name, probe, path] of [
      ['liveness', c.livenessProbe, '/health/live'],
      ['readiness', c.readinessProbe, '/health/ready'],
    ] as const) {
      expect(probe?.httpGet.path === path, at(`${name} probe is not GET ${path}`));
      expect(probe !== undefined && ports.includes(probe.httpGet.port), at(`${name} probe port is not a declared port`));
    }
  }
  return problems;
}
