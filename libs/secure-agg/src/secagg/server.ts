import type { EnvelopeVerifier, SignedEnvelope } from '../envelope';
import { bytesEqual } from './bytes';
import { vectorDigest } from './digest';
import { ProtocolViolation, RoundFailed } from './errors';
import {
  applyMeanUpdateRange,
  decodeMean,
  decodeMeanRange,
  type FixedPoint,
  type LaneBits,
} from './fixed-point';
import { agree, x25519FromSecret } from './key-agreement';
import { bCommitment, pairMaskLabel, selfMaskLabel } from './labels';
import {
  decodeAdvertiseKeys,
  decodeMaskedInputHeader,
  decodeShareKeys,
  decodeUnmaskResponse,
  type AdvertiseKeys,
  type MaskedInput,
  type MaskedInputHeader,
  type UnmaskRequest,
} from './messages';
import { addInto } from './modular';
import {
  configFixedPoint,
  inRosterOrder,
  maskNeighbours,
  pairSign,
  sameConfig,
  validateConfig,
  type SecAggConfig,
} from './params';
import { applyMaskStreams, streamKey, type MaskStream } from './prg';
import { reconstruct } from './shamir';

/**
 * The aggregator's half. It never holds a secret of its own: it routes set-up messages, checks
 * signatures and digests, adds masked inputs as they arrive (exact mod 2^32, so arrival order
 * does not matter), and at the end of a round reconstructs from t shares exactly what removes
 * the masks: b_u^r of every survivor u and s_w of every dropped w. Below t survivors it fails
 * the round without asking anyone for a share.
 */

/** Removes masks from the running sum; the default runs in this thread. Threads may split the range. */
export type UnmaskKernel = (
  sum: Uint32Array,
  streams: readonly MaskStream[],
  bits: LaneBits,
) => void | Promise<void>;

export interface RoundAggregate {
  round: number;
  /**
   * Exact modular sum of the survivors' encoded (weighted) inputs. The server's buffer, reused:
   * valid until the next round's first input arrives.
   */
  sum: Uint32Array;
  survivors: string[];
  dropped: string[];
  /** Sum of the survivors' weights: the divisor of the mean (their count for uniform weights). */
  totalWeight: number;
  /** Clipped values the survivors reported, in total and per institution. */
  outOfRange: number;
  outOfRangeBy: Record<string, number>;
  fixedPoint: FixedPoint;
  /** Unmask responses that were refused (bad signature, inconsistent); the round went on without them. */
  rejected: { institution: string; reason: string }[];
  /** Mask streams removed (survivors' self masks + dropped institutions' pair masks). */
  streamsRemoved: number;
}

/** The decoded (weighted) mean of an aggregate, float32, into `out` when given. */
export function aggregateMean(a: RoundAggregate, out?: Float32Array): Float32Array {
  if (!out) return decodeMean(a.sum, a.fixedPoint, a.totalWeight);
  decodeMeanRange(a.sum, a.fixedPoint, a.totalWeight, out);
  return out;
}

/**
 * Update mode: model += the decoded mean update, in place (see applyMeanUpdateRange). The same
 * call at every party turns the same aggregate into the same model bits.
 */
export function applyAggregateUpdate(a: RoundAggregate, model: Float32Array): Float32Array {
  applyMeanUpdateRange(a.sum, a.fixedPoint, a.totalWeight, model);
  return model;
}

interface ServerRound {
  round: number;
  participants: string[];
  inputs: Map<string, MaskedInputHeader>;
  sum: Uint32Array | null;
  length: number;
  stage: 'collecting' | 'unmasking';
  survivors?: string[];
  dropped?: string[];
}

export class SecAggServer {
  readonly config: SecAggConfig;
  private readonly verifier: EnvelopeVerifier;
  private readonly advertised = new Map<string, AdvertiseKeys>();
  private readonly members = new Set<string>();
  private highestRound = 0;
  private current: ServerRound | null = null;
  /** The running sum's buffer, kept across rounds (a fresh 40 MB buffer is slow to first touch). */
  private accumulator: Uint32Array | null = null;

  /**
   * @param options.allocateSum where the running sum lives (e.g. shared memory, so threads can
   *   unmask and decode it); a plain Uint32Array by default. Reused while the length stays.
   */
  constructor(
    config: SecAggConfig,
    verifier: EnvelopeVerifier,
    private readonly options: { allocateSum?: (words: number) => Uint32Array } = {},
  ) {
    validateConfig(config);
    this.config = config;
    this.verifier = verifier;
  }

  /** Federation members that can still take part (set-up members minus excluded). */
  memberList(): string[] {
    return inRosterOrder(this.config, this.members);
  }

  // ---------------------------------------------------------------- set-up

  /** Checks the advertisements and returns those to broadcast to every institution. */
  collectAdvertisements(envelopes: readonly SignedEnvelope[]): SignedEnvelope[] {
    const { roster, threshold, federationId } = this.config;
    const accepted: SignedEnvelope[] = [];
    for (const env of envelopes) {
      const body = this.verifier.verify(env, {
        federationId,
        round: 0,
        phase: 'advertise-keys',
        recipient: 'server',
        sender: env.sender,
      });
      const ad = decodeAdvertiseKeys(body);
      if (ad.institution !== env.sender || !roster.includes(ad.institution)) {
        throw new ProtocolViolation('not-a-member', `advertisement from ${env.sender} for ${ad.institution}`);
      }
      if (this.advertised.has(ad.institution))
        throw new ProtocolViolation('duplicate', `${ad.institution} advertised twice`);
      if (!sameConfig(ad, this.config)) {
        throw new ProtocolViolation('setup', `${ad.institution} is configured differently`);
      }
      this.advertised.set(ad.institution, ad);
      accepted.push(env);
    }
    if (this.advertised.size < threshold) {
      throw new ProtocolViolation(
        'setup',
        `${this.advertised.size} institutions advertised keys, threshold ${threshold}`,
      );
    }
    return accepted;
  }

  /**
   * Routes the share envelopes (it cannot read them). The members are the institutions that sent a
   * share to every other advertiser; only their shares are delivered, only to members.
   */
  routeShares(envelopes: readonly SignedEnvelope[]): Map<string, SignedEnvelope[]> {
    const { federationId, epoch, threshold } = this.config;
    const sentTo = new Map<string, Set<string>>();
    const checked: SignedEnvelope[] = [];
    for (const env of envelopes) {
      const body = this.verifier.verify(env, {
        federationId,
        round: 0,
        phase: 'share-keys',
        recipient: env.recipient,
        sender: env.sender,
      });
      const m = decodeShareKeys(body);
      if (m.owner !== env.sender || m.recipient !== env.recipient || m.epoch !== epoch) {
        throw new ProtocolViolation(
          'malformed',
          `share-keys from ${env.sender} names ${m.owner} -> ${m.recipient}`,
        );
      }
      if (!this.advertised.has(m.owner) || !this.advertised.has(m.recipient) || m.owner === m.recipient) {
        throw new ProtocolViolation(
          'not-a-member',
          `share ${m.owner} -> ${m.recipient} outside the advertisers`,
        );
      }
      const to = sentTo.get(m.owner) ?? new Set<string>();
      if (to.has(m.recipient))
        throw new ProtocolViolation('duplicate', `two shares ${m.owner} -> ${m.recipient}`);
      to.add(m.recipient);
      sentTo.set(m.owner, to);
      checked.push(env);
    }
    const others = this.advertised.size - 1;
    this.members.clear();
    for (const [owner, to] of sentTo) if (to.size === others) this.members.add(owner);
    if (this.members.size < threshold) {
      throw new ProtocolViolation(
        'setup',
        `${this.members.size} institutions completed the key set-up, threshold ${threshold}`,
      );
    }
    const out = new Map<string, SignedEnvelope[]>([...this.members].map((m) => [m, []]));
    for (const env of checked) {
      if (this.members.has(env.sender) && this.members.has(env.recipient)) out.get(env.recipient)!.push(env);
    }
    return out;
  }

  // ---------------------------------------------------------------- rounds

  /**
   * Opens round `round` for the members that are online now; returns the participants every
   * institution masks against. Fewer than t: RoundFailed before anyone masks.
   */
  beginRound(round: number, online: Iterable<string> = this.members): string[] {
    if (this.members.size === 0) throw new ProtocolViolation('setup', 'key set-up is not complete');
    if (!Number.isInteger(round) || round < 1 || round > 0xffffffff)
      throw new RangeError(`bad round ${round}`);
    if (round <= this.highestRound) {
      throw new ProtocolViolation('round-reused', `round ${round} is not after round ${this.highestRound}`);
    }
    this.highestRound = round;
    this.current = null;
    const participants = inRosterOrder(this.config, new Set([...online].filter((u) => this.members.has(u))));
    if (participants.length < this.config.threshold) {
      throw new RoundFailed(round, 'too-few-participants', participants, this.config.threshold);
    }
    this.current = { round, participants, inputs: new Map(), sum: null, length: 0, stage: 'collecting' };
    return participants;
  }

  /**
   * Checks a masked input (signature, sender, round, participants, digest of the vector) and adds
   * it to the round's sum. Throws EnvelopeRejected / ProtocolViolation and changes nothing otherwise.
   */
  acceptMaskedInput(input: MaskedInput): void {
    const cur = this.current;
    const env = input.envelope;
    if (!cur) throw new ProtocolViolation('late', `no round is open (input from ${env.sender})`);
    if (cur.stage !== 'collecting')
      throw new ProtocolViolation('late', `round ${cur.round} is already unmasking`);
    const body = this.verifier.verify(env, {
      federationId: this.config.federationId,
      round: cur.round,
      phase: 'masked-input',
      recipient: 'server',
      sender: env.sender,
    });
    const h = decodeMaskedInputHeader(body);
    const u = env.sender;
    if (h.institution !== u || h.round !== cur.round || h.epoch !== this.config.epoch) {
      throw new ProtocolViolation(
        'malformed',
        `masked input of ${h.institution}, round ${h.round}, signed by ${u}`,
      );
    }
    if (!cur.participants.includes(u))
      throw new ProtocolViolation('not-a-member', `${u} is not a participant of round ${cur.round}`);
    if (cur.inputs.has(u)) throw new ProtocolViolation('duplicate', `second masked input from ${u}`);
    if (h.participants.join('\n') !== cur.participants.join('\n')) {
      throw new ProtocolViolation('bad-participants', `${u} masked against [${h.participants.join(', ')}]`);
    }
    if (h.length !== input.vector.length || (cur.length !== 0 && h.length !== cur.length)) {
      throw new ProtocolViolation('malformed', `${u} sent ${input.vector.length} words, header ${h.length}`);
    }
    if (!(h.weight > 0 && h.weight <= 1)) throw new ProtocolViolation('malformed', `${u} weight ${h.weight}`);
    const expectedPeers = cur.participants.filter((p) => p !== u);
    const peers = h.bShares.map((s) => s.peer);
    if (peers.length !== expectedPeers.length || expectedPeers.some((p) => !peers.includes(p))) {
      throw new ProtocolViolation('malformed', `${u}'s b-shares are not one per other participant`);
    }
    if (this.config.vectorDigest === 'sha256' && !bytesEqual(vectorDigest(input.vector), h.digest)) {
      throw new ProtocolViolation('digest-mismatch', `${u}'s masked vector does not match its signed digest`);
    }
    if (cur.sum === null) {
      if (this.accumulator?.length !== h.length) {
        this.accumulator = this.options.allocateSum?.(h.length) ?? new Uint32Array(h.length);
      }
      cur.sum = this.accumulator;
      cur.sum.set(input.vector);
      cur.length = h.length;
    } else {
      addInto(cur.sum, input.vector, 0, h.length, this.config.bits);
    }
    cur.inputs.set(u, h);
  }

  /**
   * Closes input collection: the participants whose masked input arrived are the survivors, the
   * rest dropped. Returns one request per survivor. Fewer than t survivors: RoundFailed, and no
   * share is asked for (the inputs received stay masked forever).
   */
  unmaskRequests(): Map<string, UnmaskRequest> {
    const cur = this.requireRound('collecting');
    const survivors = cur.participants.filter((u) => cur.inputs.has(u));
    const dropped = cur.participants.filter((u) => !cur.inputs.has(u));
    if (survivors.length < this.config.threshold) {
      this.current = null;
      throw new RoundFailed(cur.round, 'too-few-survivors', survivors, this.config.threshold);
    }
    cur.stage = 'unmasking';
    cur.survivors = survivors;
    cur.dropped = dropped;
    const out = new Map<string, UnmaskRequest>();
    for (const v of survivors) {
      out.set(v, {
        epoch: this.config.epoch,
        round: cur.round,
        survivors,
        dropped,
        bShares: survivors
          .filter((u) => u !== v)
          .map((u) => ({ peer: u, sealed: cur.inputs.get(u)!.bShares.find((s) => s.peer === v)!.sealed })),
      });
    }
    return out;
  }

  /**
   * Takes the survivors' responses, reconstructs b_u^r (survivors) and s_w (dropped) from t shares
   * each, and removes the masks: what is left is the exact modular sum of the survivors' inputs.
   */
  async finishRound(
    responses: readonly SignedEnvelope[],
    kernel: UnmaskKernel = (sum, streams, bits) => applyMaskStreams(sum, streams, 0, sum.length, bits),
  ): Promise<RoundAggregate> {
    const cur = this.requireRound('unmasking');
    const { threshold, federationId, epoch } = this.config;
    const S = cur.survivors!;
    const D = cur.dropped!;
    const rejected: { institution: string; reason: string }[] = [];
    const bShares = new Map<string, Uint8Array[]>(S.map((u) => [u, []]));
    const sShares = new Map<string, Uint8Array[]>(D.map((w) => [w, []]));
    const answered = new Set<string>();
    for (const env of responses) {
      try {
        const body = this.verifier.verify(env, {
          federationId,
          round: cur.round,
          phase: 'unmask',
          recipient: 'server',
          sender: env.sender,
        });
        const m = decodeUnmaskResponse(body);
        const v = env.sender;
        if (m.institution !== v || m.round !== cur.round || m.epoch !== epoch)
          throw new Error('wrong institution/round/epoch');
        if (!S.includes(v)) throw new Error('not a survivor');
        if (answered.has(v)) throw new Error('second response');
        if (m.survivors.join('\n') !== S.join('\n') || m.dropped.join('\n') !== D.join('\n')) {
          throw new Error('answers a different request');
        }
        if (m.bShares.some((s) => !S.includes(s.owner)) || m.sShares.some((s) => !D.includes(s.owner))) {
          throw new Error('shares of the wrong institutions');
        }
        answered.add(v);
        for (const s of m.bShares) bShares.get(s.owner)!.push(s.share);
        for (const s of m.sShares) sShares.get(s.owner)!.push(s.share);
      } catch (e) {
        rejected.push({ institution: env.sender, reason: (e as Error).message });
      }
    }
    // Shares of the dropped institutions' s keys have now been handed over: exclude them for good.
    for (const w of D) this.members.delete(w);
    this.current = null;
    if (answered.size < threshold) {
      throw new RoundFailed(cur.round, 'too-few-responses', [...answered], threshold);
    }

    const streams: MaskStream[] = [];
    for (const u of S) {
      const commitment = cur.inputs.get(u)!.bCommitment;
      const b = await reconstruct(bShares.get(u)!, threshold, 32, (secret) =>
        bytesEqual(bCommitment(this.config, cur.round, u, secret), commitment),
      );
      if (!b)
        throw new RoundFailed(cur.round, 'reconstruction-failed', S, threshold, `self-mask seed of ${u}`);
      streams.push({ key: streamKey(b, selfMaskLabel(this.config, cur.round, u)), sign: -1 });
    }
    for (const w of D) {
      const advertised = this.advertised.get(w)!.sPublic;
      const s = await reconstruct(sShares.get(w)!, threshold, 32, (secret) =>
        bytesEqual(x25519FromSecret(secret).publicKey, advertised),
      );
      if (!s)
        throw new RoundFailed(cur.round, 'reconstruction-failed', S, threshold, `mask key of dropped ${w}`);
      const sKey = x25519FromSecret(s).privateKey;
      for (const v of maskNeighbours(this.config, cur.participants, w)) {
        if (!S.includes(v)) continue; // a mask between two dropped institutions is in nobody's input
        // y_v holds pairSign(v, w) * PRG(s_vw): take it out.
        const seed = agree(sKey, this.advertised.get(v)!.sPublic, {
          purpose: 'pair-seed',
          federationId,
          epoch,
          a: w,
          b: v,
        });
        streams.push({
          key: streamKey(seed, pairMaskLabel(this.config, cur.round, v, w)),
          sign: pairSign(this.config, v, w) === 1 ? -1 : 1,
        });
      }
    }
    const sum = cur.sum!;
    await kernel(sum, streams, this.config.bits);
    const outOfRangeBy: Record<string, number> = {};
    let totalWeight = 0;
    let outOfRange = 0;
    for (const u of S) {
      const h = cur.inputs.get(u)!;
      outOfRangeBy[u] = h.outOfRange;
      outOfRange += h.outOfRange;
      totalWeight += h.weight;
    }
    return {
      round: cur.round,
      sum,
      survivors: S,
      dropped: D,
      totalWeight,
      outOfRange,
      outOfRangeBy,
      fixedPoint: configFixedPoint(this.config),
      rejected,
      streamsRemoved: streams.length,
    };
  }

  /** Abandons the open round (e.g. its deadline passed with too few inputs). */
  abortRound(): void {
    this.current = null;
  }

  private requireRound(stage: ServerRound['stage']): ServerRound {
    if (!this.current || this.current.stage !== stage) {
      throw new ProtocolViolation('late', `no round is ${stage}`);
    }
    return this.current;
  }
}
