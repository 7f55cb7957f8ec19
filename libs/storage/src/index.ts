/**
 * @fl/storage: where the platform keeps its blobs (datasets, gene lists, models, round updates,
 * landmarks, annotation inputs and results; key layout in @fl/platform's objectKeys).
 *
 * - ObjectStore: the interface; MinioObjectStore (MinIO / S3) and FsObjectStore (one directory)
 * - downloadVerified / uploadTo: a credential-less worker's side, through presigned URLs
 * - tlsFailure / fetchFailureDetail: TLS and network failures explained for a site's operator
 * - errors: ObjectNotFoundError, IntegrityError, ObjectTooLargeError, InvalidKeyError, TransferError
 */
export type { ObjectStat, ObjectStore, PutStreamOptions, StoredObject } from './object-store';
export { MAX_PRESIGN_TTL_SECONDS } from './object-store';
export { MinioObjectStore, type MinioStoreOptions } from './minio-object-store';
export { FsObjectStore } from './fs-object-store';
export { downloadVerified, objectKeyFromUrl, uploadTo } from './transfer';
export {
  IntegrityError,
  InvalidKeyError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageError,
  TransferError,
} from './errors';
export { assertValidKey, assertValidPrefix } from './object-key';
export { sha256Hex } from './sha256';
export { parsePublicEndpoint, type S3Endpoint } from './public-endpoint';
export {
  explainTlsFailure,
  fetchFailureDetail,
  HTTPS_TRUST_ADVICE,
  tlsFailure,
  type TlsFailure,
  type TlsFailureKind,
} from './tls-failure';
