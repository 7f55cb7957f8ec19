import { combine, split } from 'shamir-secret-sharing';

/**
 * t-of-n Shamir sharing of 32-byte secrets (the mask key s_u, the round self-mask seed b_u^r)
 * with the audited `shamir-secret-sharing` package (GF(2^8), the x coordinate in the last byte).
 * Any t shares reconstruct; fewer reveal nothing. `combine` returns garbage, not an error, when
 * given too few or corrupted shares, so every reconstruction is checked against something the
 * owner committed to (its advertised public key, or a hash commitment).
 */

/** Shares of `secret`, one per holder, any `threshold` of which reconstruct it. */
export async function splitAmong(
  secret: Uint8Array,
  holders: readonly string[],
  threshold: number,
): Promise<Map<string, Uint8Array>> {
  const shares = await split(secret, holders.length, threshold);
  return new Map(holders.map((h, i) => [h, shares[i]]));
}

/** Subsets of size t tried when the full set of shares does not check out (a corrupted share). */
const MAX_SUBSETS = 4096;

/**
 * Reconstructs from `shares` (at least `threshold` of them), returning the secret that passes
 * `check`, or undefined when none does. Tries all shares together first (the honest case), then
 * subsets of size t, so a minority of corrupted shares cannot block reconstruction.
 */
export async function reconstruct(
  shares: readonly Uint8Array[],
  threshold: number,
  secretLength: number,
  check: (secret: Uint8Array) => boolean,
): Promise<Uint8Array | undefined> {
  const usable = shares.filter((s) => s.length === secretLength + 1);
  if (usable.length < threshold) return undefined;
  const attempt = async (set: Uint8Array[]): Promise<Uint8Array | undefined> => {
    try {
      const secret = await combine(set);
      return check(secret) ? secret : undefined;
    } catch {
      return undefined; // duplicate x coordinates and the like: a bad share in the set
    }
  };
  const all = await attempt([...usable]);
  if (all || usable.length === threshold) return all;
  let tried = 0;
  for (const subset of subsets(usable.length, threshold)) {
    if (++tried > MAX_SUBSETS) break;
    const found = await attempt(subset.map((i) => usable[i]));
    if (found) return found;
  }
  return undefined;
}

function* subsets(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}
