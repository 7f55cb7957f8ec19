/**
 * Validation of rendered manifests against the Kubernetes API schemas shipped by the
 * `kubernetes-models` package, at two Kubernetes releases:
 *   - 1.33.0: kubernetes-models 4.5.x (its changelog, 4.5.0: "Update schema version to v1.33.0");
 *   - 1.25.2: kubernetes-models 4.1.0, installed under the alias `kubernetes-models-1.25` (its
 *     4.0.0 changelog: "Update schema to Kubernetes v1.25.2"; 4.1.0 restored the enums), the
 *     floor of the chart's kubeVersion (>=1.25.0-0).
 *
 * Two checks per object:
 *   - schemaErrors: the model's own validate() (types, required fields, enums, formats);
 *   - unknownFields: fields the schema does not define (a typo such as `imagePullPolcy` passes
 *     validate(), because the schemas allow additional properties, but the API server would drop
 *     or refuse it; so would a 1.25 API server a field added after 1.25). The validator reads
 *     every property the schema defines; fields it never reads are unknown to the schema.
 * A kind without a model in KIND_MODELS fails: a new kind must be added here deliberately.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap as ConfigMap125 } from 'kubernetes-models-1.25/v1/ConfigMap';
import { PersistentVolumeClaim as PersistentVolumeClaim125 } from 'kubernetes-models-1.25/v1/PersistentVolumeClaim';
import { Secret as Secret125 } from 'kubernetes-models-1.25/v1/Secret';
import { Service as Service125 } from 'kubernetes-models-1.25/v1/Service';
import { ServiceAccount as ServiceAccount125 } from 'kubernetes-models-1.25/v1/ServiceAccount';
import { Deployment as Deployment125 } from 'kubernetes-models-1.25/apps/v1/Deployment';
import { Job as Job125 } from 'kubernetes-models-1.25/batch/v1/Job';
import { Ingress as Ingress125 } from 'kubernetes-models-1.25/networking.k8s.io/v1/Ingress';
import { NetworkPolicy as NetworkPolicy125 } from 'kubernetes-models-1.25/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget as PodDisruptionBudget125 } from 'kubernetes-models-1.25/policy/v1/PodDisruptionBudget';

/** The Kubernetes release whose schemas kubernetes-models 4.5.x carries. */
export const SCHEMA_KUBERNETES_VERSION = '1.33.0';

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: never): { validate(): void };
  prototype: { validate(): void };
}

const KIND_MODELS: ModelClass[] = [
  ConfigMap,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
  Deployment,
  Job,
  Ingress,
  NetworkPolicy,
  PodDisruptionBudget,
];
/** The same kinds at the floor of the chart's kubeVersion. */
const KIND_MODELS_1_25 = [
  ConfigMap125,
  PersistentVolumeClaim125,
  Secret125,
  Service125,
  ServiceAccount125,
  Deployment125,
  Job125,
  Ingress125,
  NetworkPolicy125,
  PodDisruptionBudget125,
] as unknown as ModelClass[];

/** The Kubernetes releases whose schemas the tests validate against. */
export const FLOOR_SCHEMA_KUBERNETES_VERSION = '1.25.2';
export type SchemaVersion = typeof SCHEMA_KUBERNETES_VERSION | typeof FLOOR_SCHEMA_KUBERNETES_VERSION;

const byKind = (models: ModelClass[]) => new Map(models.map((m) => [`${m.apiVersion}/${m.kind}`, m]));
const MODELS_BY_VERSION: Record<SchemaVersion, Map<string, ModelClass>> = {
  [SCHEMA_KUBERNETES_VERSION]: byKind(KIND_MODELS),
  [FLOOR_SCHEMA_KUBERNETES_VERSION]: byKind(KIND_MODELS_1_25),
};

export interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}

function describe(obj: ManifestObject): string {
  return `${String(obj.apiVersion)} ${String(obj.kind)} ${String(obj.metadata?.name)}`;
}

function modelOf(obj: ManifestObject, version: SchemaVersion): ModelClass {
  const models = MODELS_BY_VERSION[version];
  const model = models.get(`${String(obj.apiVersion)}/${String(obj.kind)}`);
  if (!model) {
    throw new Error(
      `${describe(obj)}: no Kubernetes ${version} schema for this apiVersion/kind in test/helm/k8s-schema.ts ` +
        `(known: ${[...models.keys()].join(', ')})`,
    );
  }
  return model;
}

/** The schema violations of `obj` ([] when valid); throws for a kind without a schema. */
export function schemaErrors(obj: ManifestObject, version: SchemaVersion = SCHEMA_KUBERNETES_VERSION): string[] {
  const Model = modelOf(obj, version);
  try {
    new Model(obj as never).validate();
    return [];
  } catch (e) {
    return [`${describe(obj)}: ${(e as Error).message}`];
  }
}

type Tracked = Record<string, unknown>;

/** A deep copy of `value` whose plain objects record the keys read from them. */
function track(value: unknown, path: string, reads: Map<Tracked, { path: string; read: Set<string> }>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => track(v, `${path}[${i}]`, reads));
  if (value === null || typeof value !== 'object') return value;
  const copy: Tracked = {};
  for (const [k, v] of Object.entries(value)) copy[k] = track(v, `${path}.${k}`, reads);
  const read = new Set<string>();
  const proxy = new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  reads.set(copy, { path, read });
  return proxy;
}

/** Paths of the fields of `obj` its schema does not define; throws for a kind without a schema. */
export function unknownFields(obj: ManifestObject, version: SchemaVersion = SCHEMA_KUBERNETES_VERSION): string[] {
  const Model = modelOf(obj, version);
  const reads = new Map<Tracked, { path: string; read: Set<string> }>();
  const tracked = track(obj, '', reads);
  // The model's schema id lives on its prototype (kubernetes-models 4.1 looks it up on `this`).
  const root = [...reads].find(([, r]) => r.path === '')?.[0];
  if (root) Object.setPrototypeOf(root, Model.prototype);
  try {
    // The model's validate() runs the schema's precompiled validator on `this`.
    Model.prototype.validate.call(tracked);
  } catch {
    // Violations are schemaErrors' business; the fields read so far still count.
  }
  const unknownPaths: string[] = [];
  for (const [target, { path, read }] of reads) {
    for (const key of Object.keys(target)) if (!read.has(key)) unknownPaths.push(`${path}.${key}`.replace(/^\./, ''));
  }
  // Inside an unknown field nothing is read: report the field, not everything below it.
  const outermost = unknownPaths.filter(
    (p) => !unknownPaths.some((q) => q !== p && (p.startsWith(`${q}.`) || p.startsWith(`${q}[`))),
  );
  return outermost.map((p) => `${describe(obj)}: ${p}`);
}
