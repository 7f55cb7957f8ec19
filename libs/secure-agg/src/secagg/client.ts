import type { EnvelopeSigner, EnvelopeVerifier, SignedEnvelope } from '../envelope';
import { bytesEqual } from './bytes';
import { vectorDigest } from './digest';
import { ProtocolViolation } from './errors';
import {
  agree,
  generateX25519,
  open,
  seal,
  secureRandom,
  type RandomSource,
  type X25519KeyPair,
} from './key-agreement';
import { bCommitment, pairMaskLabel, selfMaskLabel } from './labels';
import { encodeAddMaskRange, maskedWords, maskRange, precomputeMaskRange, type MaskPlan } from './masking';
import {
  decodeAdvertiseKeys,
  decodeShareKeys,
  encodeAdvertiseKeys,
  encodeMaskedInputHeader,
  encodeShareKeys,
  encodeUnmaskResponse,
  type MaskedInput,
  type OwnedShare,
  type SealedFor,
  type UnmaskRequest,
} from './messages';
import {
  configFixedPoint,
  inRosterOrder,
  maskNeighbours,
  pairSign,
  sameConfig,
  validateConfig,
  type SecAggConfig,
} from './params';
import { type MaskStream, streamKey } from './prg';
import { splitAmong } from './shamir';

/**
 * One institution's half of the protocol. It holds the institution's secrets (two X25519 key
 * pairs, the pair seeds, its shares of the other institutions' keys, each round's self-mask seed)
 * and enforces the rules that keep its input hidden even from an aggregator that asks for too
 * much: it masks each round number once, only against members it holds keys for, and answers
 * one unmask request per round, and only a consistent one.
 *
 * Set-up (once per federation key epoch):
 *   advertiseKeys() -> server;  shareKeys(all advertisements) -> server routes;  receiveShares(mine).
 * Each round:
 *   maskInput(round, participants, x) -> server;  unmask(request) -> server.
 * For worker threads: planRound() gives a MaskPlan for masking.ts, finishMaskedInput() signs.
 */

interface Peer {
  cPublic: Uint8Array;
  sPublic: Uint8Array;
  /** AES-256-GCM key for shares exchanged with this peer (from the c key pairs). */
  encKey: Uint8Array;
  /** Per-federation pair seed s_uv (from the s key pairs); round masks are derived from it. */
  pairSeed: Uint8Array;
}

interface RoundState {
  participants: string[];
  plan: MaskPlan;
  bSeed: Uint8Array;
  bCommitment: Uint8Array;
  /** My own share of my b_u^r (I am a shareholder too). */
  ownBShare: Uint8Array;
  sealedBShares: SealedFor[];
  sent: boolean;
  answered?: { key: string; response: SignedEnvelope };
}

/** A round's masks built ahead of time (data-independent): see masking.ts. */
export interface PreparedRound {
  readonly plan: MaskPlan;
  /** The combined mask; overwritten with the masked input by maskPrepared(). */
  readonly mask: Uint32Array;
}

export interface SecAggClientOptions {
  config: SecAggConfig;
  id: string;
  signer: EnvelopeSigner;
  verifier: EnvelopeVerifier;
  /** Randomness for keys, seeds and nonces; tests pass a seeded one. */
  random?: RandomSource;
}

export class SecAggClient {
  readonly id: string;
  readonly config: SecAggConfig;
  private readonly signer: EnvelopeSigner;
  private readonly verifier: EnvelopeVerifier;
  private readonly random: RandomSource;
  private readonly c: X25519KeyPair;
  private readonly s: X25519KeyPair;
  private readonly peers = new Map<string, Peer>();
  /** owner -> my share of owner's s key (my own included). */
  private readonly sShares = new Map<string, Uint8Array>();
  /** Institutions I will mask with: set-up members minus those whose s key I helped reveal. */
  private readonly members = new Set<string>();
  /** Institutions whose s-shares I revealed: never again a b-share of theirs, never a mask with them. */
  private readonly revealedS = new Set<string>();
  private readonly rounds = new Map<number, RoundState>();
  private highestRound = 0;
  private advertisers: string[] = [];

  constructor(opts: SecAggClientOptions) {
    validateConfig(opts.config);
    if (!opts.config.roster.includes(opts.id))
      throw new ProtocolViolation('setup', `${opts.id} is not in the roster`);
    if (opts.signer.party !== opts.id) {
      throw new ProtocolViolation('setup', `signer of ${opts.signer.party} given to institution ${opts.id}`);
    }
    this.id = opts.id;
    this.config = opts.config;
    this.signer = opts.signer;
    this.verifier = opts.verifier;
    this.random = opts.random ?? secureRandom;
    this.c = generateX25519(this.random);
    this.s = generateX25519(this.random);
  }

  /** The members this institution currently masks with (roster order). */
  memberView(): string[] {
    return inRosterOrder(this.config, this.members);
  }

  // ---------------------------------------------------------------- set-up

  /** AdvertiseKeys: the two public keys, signed, for the server to broadcast. */
  advertiseKeys(): SignedEnvelope {
    const { federationId, epoch, roster, threshold, clip, bits, maskDegree, vectorDigest } = this.config;
    const payload = encodeAdvertiseKeys({
      epoch,
      institution: this.id,
      roster: [...roster],
      threshold,
      clip,
      bits,
      maskDegree,
      vectorDigest,
      cPublic: this.c.publicKey,
      sPublic: this.s.publicKey,
    });
    return this.signer.sign(
      { federationId, round: 0, phase: 'advertise-keys', recipient: 'server' },
      payload,
    );
  }

  /**
   * ShareKeys: checks every advertisement (signature, same roster/threshold/clip/epoch, my own keys
   * unchanged), derives the pair keys, and returns one envelope per other advertiser holding its
   * encrypted t-of-n share of my s key.
   */
  async shareKeys(advertisements: readonly SignedEnvelope[]): Promise<SignedEnvelope[]> {
    const { federationId, epoch, roster, threshold } = this.config;
    if (this.advertisers.length > 0) throw new ProtocolViolation('duplicate', 'keys were already shared');
    const seen = new Set<string>();
    for (const env of advertisements) {
      const body = this.verifier.verify(env, {
        federationId,
        round: 0,
        phase: 'advertise-keys',
        recipient: 'server',
        sender: env.sender,
      });
      const ad = decodeAdvertiseKeys(body);
      const u = env.sender;
      if (ad.institution !== u)
        throw new ProtocolViolation('malformed', `advertisement of ${ad.institution} signed by ${u}`);
      if (!roster.includes(u)) throw new ProtocolViolation('not-a-member', `${u} is not in the roster`);
      if (seen.has(u)) throw new ProtocolViolation('duplicate', `two advertisements from ${u}`);
      seen.add(u);
      if (!sameConfig(ad, this.config)) {
        throw new ProtocolViolation(
          'setup',
          `${u} advertises a different roster, threshold, clip, degree or epoch`,
        );
      }
      if (u === this.id) {
        if (!bytesEqual(ad.cPublic, this.c.publicKey) || !bytesEqual(ad.sPublic, this.s.publicKey)) {
          throw new ProtocolViolation('setup', 'my own advertisement came back with other keys');
        }
        continue;
      }
      const ctx = { federationId, epoch, a: this.id, b: u };
      this.peers.set(u, {
        cPublic: ad.cPublic,
        sPublic: ad.sPublic,
        encKey: agree(this.c.privateKey, ad.cPublic, { ...ctx, purpose: 'share-encryption' }),
        pairSeed: agree(this.s.privateKey, ad.sPublic, { ...ctx, purpose: 'pair-seed' }),
      });
    }
    if (!seen.has(this.id)) throw new ProtocolViolation('setup', 'my own advertisement is missing');
    if (seen.size < threshold) {
      throw new ProtocolViolation(
        'setup',
        `${seen.size} institutions advertised keys, the threshold is ${threshold}`,
      );
    }
    this.advertisers = inRosterOrder(this.config, seen);
    const shares = await splitAmong(this.s.secret, this.advertisers, threshold);
    this.sShares.set(this.id, shares.get(this.id)!);
    const out: SignedEnvelope[] = [];
    for (const v of this.advertisers) {
      if (v === this.id) continue;
      const sealed = seal(
        this.peers.get(v)!.encKey,
        shares.get(v)!,
        { kind: 's-share', federationId, epoch, round: 0, sender: this.id, recipient: v },
        this.random,
      );
      const payload = encodeShareKeys({ epoch, owner: this.id, recipient: v, sealed });
      out.push(this.signer.sign({ federationId, round: 0, phase: 'share-keys', recipient: v }, payload));
    }
    return out;
  }

  /** Takes the share envelopes addressed to me; the senders become the members I mask with. */
  receiveShares(envelopes: readonly SignedEnvelope[]): void {
    const { federationId, epoch, threshold } = this.config;
    if (this.advertisers.length === 0)
      throw new ProtocolViolation('setup', 'shares arrived before shareKeys()');
    for (const env of envelopes) {
      const body = this.verifier.verify(env, {
        federationId,
        round: 0,
        phase: 'share-keys',
        recipient: this.id,
        sender: env.sender,
      });
      const m = decodeShareKeys(body);
      const u = env.sender;
      if (m.owner !== u || m.recipient !== this.id || m.epoch !== epoch) {
        throw new ProtocolViolation(
          'malformed',
          `share-keys from ${u} names owner ${m.owner}, recipient ${m.recipient}`,
        );
      }
      const peer = this.peers.get(u);
      if (!peer) throw new ProtocolViolation('not-a-member', `share from ${u}, which did not advertise keys`);
      if (this.sShares.has(u)) throw new ProtocolViolation('duplicate', `second share from ${u}`);
      const share = open(peer.encKey, m.sealed, {
        kind: 's-share',
        federationId,
        epoch,
        round: 0,
        sender: u,
        recipient: this.id,
      });
      if (share.length !== 33)
        throw new ProtocolViolation('malformed', `s-share from ${u} of ${share.length} bytes`);
      this.sShares.set(u, share);
    }
    this.members.clear();
    for (const u of this.sShares.keys()) this.members.add(u);
    if (this.members.size < threshold) {
      throw new ProtocolViolation(
        'setup',
        `shares from ${this.members.size} institutions, the threshold is ${threshold}`,
      );
    }
  }

  // ---------------------------------------------------------------- masking

  /**
   * Starts round `round` against `participants` (the server's list of who is online): draws the
   * round's self-mask seed b_u^r, shares it t-of-|participants|, and derives the round's mask keys.
   * Each round number is masked once: reusing one would reuse its masks.
   */
  async planRound(
    round: number,
    participants: readonly string[],
    length: number,
    weight = 1,
  ): Promise<MaskPlan> {
    const { federationId, epoch, threshold } = this.config;
    if (this.members.size === 0) throw new ProtocolViolation('setup', 'key set-up is not complete');
    if (!Number.isInteger(round) || round < 1 || round > 0xffffffff)
      throw new RangeError(`bad round ${round}`);
    if (round <= this.highestRound) {
      throw new ProtocolViolation('round-reused', `round ${round} is not after round ${this.highestRound}`);
    }
    const parts = inRosterOrder(this.config, new Set(participants));
    if (parts.length !== participants.length)
      throw new ProtocolViolation('bad-participants', 'participants repeat');
    if (!parts.includes(this.id))
      throw new ProtocolViolation('bad-participants', `${this.id} is not a participant`);
    const strangers = parts.filter((p) => !this.members.has(p));
    if (strangers.length > 0) {
      throw new ProtocolViolation(
        'not-a-member',
        `not members (excluded or never keyed): ${strangers.join(', ')}`,
      );
    }
    if (parts.length < threshold) {
      throw new ProtocolViolation(
        'bad-participants',
        `${parts.length} participants, the threshold is ${threshold}`,
      );
    }
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`bad vector length ${length}`);
    this.highestRound = round; // burnt from here on, whatever happens next

    const bSeed = this.random(32);
    const shares = await splitAmong(bSeed, parts, threshold);
    const sealedBShares: SealedFor[] = [];
    for (const v of parts) {
      if (v === this.id) continue;
      const sealed = seal(
        this.peers.get(v)!.encKey,
        shares.get(v)!,
        { kind: 'b-share', federationId, epoch, round, sender: this.id, recipient: v },
        this.random,
      );
      sealedBShares.push({ peer: v, sealed });
    }
    const streams: MaskStream[] = [
      { key: streamKey(bSeed, selfMaskLabel(this.config, round, this.id)), sign: 1 },
    ];
    for (const v of maskNeighbours(this.config, parts, this.id)) {
      streams.push({
        key: streamKey(this.peers.get(v)!.pairSeed, pairMaskLabel(this.config, round, this.id, v)),
        sign: pairSign(this.config, this.id, v),
      });
    }
    const plan: MaskPlan = { round, length, weight, fixedPoint: configFixedPoint(this.config), streams };
    this.rounds.set(round, {
      participants: parts,
      plan,
      bSeed,
      bCommitment: bCommitment(this.config, round, this.id, bSeed),
      ownBShare: shares.get(this.id)!,
      sealedBShares,
      sent: false,
    });
    return plan;
  }

  /**
   * Signs the round's masked vector (built from the plan by masking.ts, in any thread): the
   * header with the vector's digest, the b commitment and the sealed b-shares. `digest` may be
   * passed when threads already hashed their segments (digest.ts).
   */
  finishMaskedInput(
    round: number,
    vector: Uint32Array,
    outOfRange: number,
    digest?: Uint8Array,
  ): MaskedInput {
    const st = this.rounds.get(round);
    if (!st) throw new ProtocolViolation('malformed', `round ${round} was not planned`);
    if (st.sent) throw new ProtocolViolation('duplicate', `round ${round} was already sent`);
    if (vector.length !== maskedWords(st.plan))
      throw new RangeError(
        `round ${round}: vector of ${vector.length} words, expected ${maskedWords(st.plan)}`,
      );
    st.sent = true;
    const { federationId, epoch } = this.config;
    const payload = encodeMaskedInputHeader({
      epoch,
      institution: this.id,
      round,
      participants: st.participants,
      length: vector.length,
      weight: st.plan.weight,
      outOfRange,
      digest: this.config.vectorDigest === 'none' ? new Uint8Array(32) : (digest ?? vectorDigest(vector)),
      bCommitment: st.bCommitment,
      bShares: st.sealedBShares,
    });
    const envelope = this.signer.sign(
      { federationId, round, phase: 'masked-input', recipient: 'server' },
      payload,
    );
    return { envelope, vector };
  }

  /**
   * The whole institution step in this thread: plan, encode + mask, sign. `out` (the masked
   * vector's words) is reused when given: a fresh buffer costs more to first touch than masking it
   * on this kind of VM (page faults), so callers that mask every round should keep one. `base`:
   * mask x - base (the round's update against the global model it started from).
   */
  async maskInput(
    round: number,
    participants: readonly string[],
    x: Float32Array,
    opts: { weight?: number; out?: Uint32Array; base?: Float32Array } = {},
  ): Promise<{ masked: MaskedInput; outOfRange: number }> {
    const plan = await this.planRound(round, participants, x.length, opts.weight ?? 1);
    const vector = opts.out ?? new Uint32Array(maskedWords(plan));
    const outOfRange = maskRange(x, vector, plan, 0, vector.length, opts.base);
    return { masked: this.finishMaskedInput(round, vector, outOfRange), outOfRange };
  }

  /** Builds round `round`'s masks before its input exists (e.g. while waiting for the next model). */
  async prepareRound(
    round: number,
    participants: readonly string[],
    length: number,
    opts: { weight?: number; out?: Uint32Array } = {},
  ): Promise<PreparedRound> {
    const plan = await this.planRound(round, participants, length, opts.weight ?? 1);
    const mask = opts.out ?? new Uint32Array(maskedWords(plan));
    precomputeMaskRange(mask, plan);
    return { plan, mask };
  }

  /** Masks `x` (minus `base`, in update mode) with a prepared round's masks: one pass, then sign. */
  maskPrepared(
    prepared: PreparedRound,
    x: Float32Array,
    base?: Float32Array,
  ): { masked: MaskedInput; outOfRange: number } {
    const { plan, mask } = prepared;
    const outOfRange = encodeAddMaskRange(x, mask, mask, plan, 0, mask.length, base);
    return { masked: this.finishMaskedInput(plan.round, mask, outOfRange), outOfRange };
  }

  // ---------------------------------------------------------------- unmasking

  /**
   * Answers the server's unmask request with my shares of b_u^r for the survivors u and of s_w for
   * the dropped w. Refuses (ProtocolViolation 'inconsistent-unmask') anything that could reveal
   * both secrets of one institution or more than the sum of t or more inputs:
   * - I must have sent a masked input this round (so I am a survivor) and be listed in S;
   * - S and D must split exactly the round's participants, with |S| >= t;
   * - one answer per round: a different request for the same round is refused (a repeat of the
   *   same request gets the same answer);
   * - never a b-share of an institution whose s-shares I revealed before.
   * After answering, the dropped institutions are excluded from my later rounds: their s keys are
   * now known to the server, so masks with them would hide nothing.
   */
  unmask(request: UnmaskRequest): SignedEnvelope {
    const { federationId, epoch, threshold } = this.config;
    const refuse: (why: string) => never = (why) => {
      throw new ProtocolViolation('inconsistent-unmask', `${this.id} refuses round ${request.round}: ${why}`);
    };
    const st = this.rounds.get(request.round);
    if (request.epoch !== epoch) refuse(`key epoch ${request.epoch}, mine is ${epoch}`);
    if (!st || !st.sent) refuse('I sent no masked input in this round');
    const state = st;
    const S = request.survivors;
    const D = request.dropped;
    const key = JSON.stringify([S, D]);
    if (state.answered) {
      if (state.answered.key === key) return state.answered.response;
      refuse('a different unmask request for this round was already answered');
    }
    const inRound = new Set(state.participants);
    const all = [...S, ...D];
    if (new Set(all).size !== all.length)
      refuse('an institution is listed twice or as both survivor and dropped');
    if (all.length !== inRound.size || all.some((u) => !inRound.has(u))) {
      refuse('survivors and dropped do not split the round participants');
    }
    if (!S.includes(this.id)) refuse('I am not listed as a survivor');
    if (S.length < threshold) refuse(`${S.length} survivors, below the threshold ${threshold}`);
    for (const u of S) if (this.revealedS.has(u)) refuse(`${u}'s s key was revealed before`);

    const sealedFrom = new Map<string, Uint8Array>();
    for (const e of request.bShares) {
      if (sealedFrom.has(e.peer) || !S.includes(e.peer) || e.peer === this.id) {
        refuse(`unexpected b-share entry for ${e.peer}`);
      }
      sealedFrom.set(e.peer, e.sealed);
    }
    const bShares: OwnedShare[] = [];
    for (const u of S) {
      if (u === this.id) {
        bShares.push({ owner: u, share: state.ownBShare });
        continue;
      }
      const sealed = sealedFrom.get(u) ?? refuse(`no b-share from survivor ${u}`);
      const share = open(this.peers.get(u)!.encKey, sealed, {
        kind: 'b-share',
        federationId,
        epoch,
        round: request.round,
        sender: u,
        recipient: this.id,
      });
      bShares.push({ owner: u, share });
    }
    const sShares: OwnedShare[] = D.map((w) => ({
      owner: w,
      share: this.sShares.get(w) ?? refuse(`no share of ${w}`),
    }));

    const payload = encodeUnmaskResponse({
      epoch,
      institution: this.id,
      round: request.round,
      survivors: [...S],
      dropped: [...D],
      bShares,
      sShares,
    });
    const response = this.signer.sign(
      { federationId, round: request.round, phase: 'unmask', recipient: 'server' },
      payload,
    );
    state.answered = { key, response };
    state.bSeed.fill(0); // my b_u^r is about to be public; nothing left to protect with it
    for (const w of D) {
      this.revealedS.add(w);
      this.members.delete(w);
    }
    return response;
  }
}
