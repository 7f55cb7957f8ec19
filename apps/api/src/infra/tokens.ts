import type { PrismaClient } from '@fl/persistence';

/** Injection tokens of the external systems (one connection each, shared by the whole app). */
export const PRISMA = Symbol('PrismaClient');
export const REDIS = Symbol('Redis');
export const OBJECT_STORE = Symbol('ObjectStore');
export const CONTROL_QUEUE_TOKEN = Symbol('ControlQueue');
export const ANNOTATION_QUEUE_TOKEN = Symbol('AnnotationQueue');
export const QUEUE_SETTINGS = Symbol('QueueSettings');

export type Db = PrismaClient;

/** BullMQ key prefix of the api's queues (tests use their own so parallel files never mix). */
export interface QueueSettings {
  prefix: string;
}
