export * from './jobs';
export * from './object-keys';
export * from './queues';
