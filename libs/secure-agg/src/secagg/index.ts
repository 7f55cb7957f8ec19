/**
 * Secure aggregation (Bonawitz et al., CCS 2017) with a per-federation key set-up and per-round
 * derived masks. See docs/security.md for the threat model, messages and parameters.
 *
 * - SecureAggregationSession: the whole protocol in one process (tests, embedded federation).
 * - SecAggClient / SecAggServer: the institution's and the aggregator's halves, for the
 *   distributed platform (they only exchange the messages in messages.ts).
 * - masking.ts / prg.ts / modular.ts / fixed-point.ts: plain typed-array kernels that worker
 *   threads can run on any sub-range.
 */
export { SecureAggregationSession } from './session';
export type { SessionSetupOptions, AggregateOptions, SecureRoundResult, RoundTimings } from './session';
export { maskedInputWireBytes } from './session';
export { SecAggClient } from './client';
export type { SecAggClientOptions, PreparedRound } from './client';
export { SecAggServer, aggregateMean, applyAggregateUpdate } from './server';
export type { RoundAggregate, UnmaskKernel } from './server';
export { RoundFailed, ProtocolViolation } from './errors';
export type { RoundFailure, ViolationCode } from './errors';
export { defaultThreshold, makeConfig, validateConfig, configFixedPoint, maskNeighbours } from './params';
export type { SecAggConfig } from './params';
export {
  DEFAULT_CLIP,
  fixedPoint,
  encode,
  encodeRange,
  decodeMean,
  decodeMeanRange,
  applyMeanUpdateRange,
  quantisationBound,
  wordsFor,
  laneView,
  lanesPerWord,
  isLaneBits,
  LANE_BITS,
} from './fixed-point';
export type { FixedPoint, LaneBits } from './fixed-point';
export { addInto, subInto, modularSum } from './modular';
export { applyMaskStreams, expandWords, streamKey, CHUNK_WORDS, PRG_ALGORITHM } from './prg';
export type { MaskStream } from './prg';
export { maskRange, precomputeMaskRange, encodeAddMaskRange, maskedWords } from './masking';
export type { MaskPlan } from './masking';
export { vectorDigest, segmentDigests, combineSegmentDigests, DIGEST_SEGMENT_WORDS } from './digest';
export type { MaskedInput, UnmaskRequest } from './messages';
export { encodeEnvelopeWire, decodeEnvelopeWire, envelopeWireBytes } from './wire';
export { encodeUnmaskRequest, decodeUnmaskRequest } from './messages';
