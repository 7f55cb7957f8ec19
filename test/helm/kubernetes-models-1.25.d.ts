// kubernetes-models 4.1.0 (installed as `kubernetes-models-1.25` for its Kubernetes 1.25.2
// schemas) ships .d.ts files that its package.json "exports" does not expose. The model classes
// have the same shape as 4.5's, whose types these borrow (only their constructors and validate()
// are used, through k8s-schema.ts's ModelClass).
declare module 'kubernetes-models-1.25/v1/ConfigMap' {
  export { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
}
declare module 'kubernetes-models-1.25/v1/PersistentVolumeClaim' {
  export { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
}
declare module 'kubernetes-models-1.25/v1/Secret' {
  export { Secret } from 'kubernetes-models/v1/Secret';
}
declare module 'kubernetes-models-1.25/v1/Service' {
  export { Service } from 'kubernetes-models/v1/Service';
}
declare module 'kubernetes-models-1.25/v1/ServiceAccount' {
  export { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
}
declare module 'kubernetes-models-1.25/apps/v1/Deployment' {
  export { Deployment } from 'kubernetes-models/apps/v1/Deployment';
}
declare module 'kubernetes-models-1.25/batch/v1/Job' {
  export { Job } from 'kubernetes-models/batch/v1/Job';
}
declare module 'kubernetes-models-1.25/networking.k8s.io/v1/Ingress' {
  export { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
}
declare module 'kubernetes-models-1.25/networking.k8s.io/v1/NetworkPolicy' {
  export { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
}
declare module 'kubernetes-models-1.25/policy/v1/PodDisruptionBudget' {
  export { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
}
