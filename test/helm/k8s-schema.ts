/**
 * Validation of rendered manifests against the Kubernetes API schemas shipped by the
 * `kubernetes-models` package. Version 4.5.x carries the OpenAPI schemas of Kubernetes v1.33.0
 * (its changelog, 4.5.0: "Update schema version to v1.33.0"; merged with older releases' specs
 * for APIs removed since). The chart claims kubeVersion >=1.25.0-0; Helm itself checks that claim
 * (`helm template --kube-version`), and every apiVersion the chart uses is GA since 1.21 or earlier.
 *
 * Two checks per object:
 *   - schemaErrors: the model's own validate() (types, required fields, enums, formats);
 *   - unknownFields: fields the schema does not define (a typo such as `imagePullPolcy` passes
 *     validate(), because the schemas allow additional properties, but the API server would drop
 *     or refuse it). The precompiled validator reads every property the schema defines; fields it
 *     never reads are unknown to the schema.
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
const MODELS = new Map(KIND_MODELS.map((m) => [`${m.apiVersion}/${m.kind}`, m]));

export interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}

function describe(obj: ManifestObject): string {
  return `${String(obj.apiVersion)} ${String(obj.kind)} ${String(obj.metadata?.name)}`;
}

function modelOf(obj: ManifestObject): ModelClass {
  const model = MODELS.get(`${String(obj.apiVersion)}/${String(obj.kind)}`);
  if (!model) {
    throw new Error(
      `${describe(obj)}: no Kubernetes schema for this apiVersion/kind in test/helm/k8s-schema.ts ` +
        `(known: ${[...MODELS.keys()].join(', ')})`,
    );
  }
  return model;
}

/** The schema violations of `obj` ([] when valid); throws for a kind without a schema. */
export function schemaErrors(obj: ManifestObject): string[] {
  const Model = modelOf(obj);
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
export function unknownFields(obj: ManifestObject): string[] {
  const Model = modelOf(obj);
  const reads = new Map<Tracked, { path: string; read: Set<string> }>();
  const tracked = track(obj, '', reads);
  try {
    // The model's validate() runs the schema's precompiled validator on `this`.
    Model.prototype.validate.call(tracked);
  } catch {
    // Violations are schemaErrors' business; the fields read so far still count.
  }
  const unknown: string[] = [];
  for (const [target, { path, read }] of reads) {
    for (const key of Object.keys(target)) if (!read.has(key)) unknown.push(`${describe(obj)}: ${path}.${key}`.replace(': .', ': '));
  }
  return unknown;
}
