import { createHash } from 'node:crypto';
import { ByteWriter } from './bytes';
import type { SecAggConfig } from './params';

/**
 * Labels that turn long-lived secrets into per-round masks. The per-federation pair seed s_uv
 * and the round's self-mask seed b_u^r go through HKDF with these labels (prg.ts), so every
 * (federation, epoch, round, purpose, institutions) gets its own AES key: masks of different
 * rounds are outputs of a PRF at different inputs, independent to anyone without the seed.
 */

export function selfMaskLabel(c: SecAggConfig, round: number, owner: string): Uint8Array {
  return new ByteWriter().str('mask/self').str(c.federationId).u32(c.epoch).u32(round).str(owner).finish();
}

export function pairMaskLabel(c: SecAggConfig, round: number, a: string, b: string): Uint8Array {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  return new ByteWriter()
    .str('mask/pair')
    .str(c.federationId)
    .u32(c.epoch)
    .u32(round)
    .str(lo)
    .str(hi)
    .finish();
}

/**
 * Commitment to b_u^r, signed in the masked input: lets the aggregator check a reconstruction
 * (Shamir's combine returns garbage, not an error, on a bad share). Hiding: b is 256 random bits.
 */
export function bCommitment(c: SecAggConfig, round: number, owner: string, b: Uint8Array): Uint8Array {
  const label = new ByteWriter()
    .str('commit/b')
    .str(c.federationId)
    .u32(c.epoch)
    .u32(round)
    .str(owner)
    .finish();
  return new Uint8Array(createHash('sha256').update(label).update(b).digest());
}
