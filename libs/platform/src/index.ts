export * from './events';
export * from './federation-driver';
export * from './institution-runtime';
export * from './jobs';
export * from './model-objects';
export * from './object-keys';
export * from './queues';
export * from './service-env';
