/**
 * Per-round cost of secure aggregation: `npm run bench:secagg`.
 *
 * For K = 3, 5, 10 institutions and 1 M and 10 M parameters it runs whole rounds in one process
 * (SecureAggregationSession) and reports, per round (median over rounds, after a warm-up round):
 *   - masking per institution: plan + encode + masks + digest + signature (the direct way), and the
 *     critical path when the masks are precomputed while the institution waits (+ that precompute);
 *   - aggregator: checking and summing the K inputs, then reconstructing and removing the masks;
 *   - bytes one institution sends (masked input + unmask response) and receives;
 *   - the plain float64 mean of the same inputs (what secure aggregation replaces);
 *   - the overhead on a round of training (see below).
 * Plus the raw speeds of the pieces: AES-128-CTR keystream, mask kernel, SHA-256, encode.
 * Writes bench-output/secagg.json.
 *
 * Rows: K = 3, 5, 10 with every pair masked and SHA-256-bound vectors (the defaults), plus
 * K = 10 with a SecAgg+ ring of 4 neighbours, and variants without the vector digest (in-process runs).
 *
 * Overhead on training, two ways (training time: --train-ms-per-mparam, default 4 ms per million
 * parameters, i.e. the ~20-60 ms a local round takes at 5-14 M parameters here):
 *   embedded     one process, the K institutions' work spread over this machine's cores, all of it
 *                counted: added = ceil(K / cores) * (masking + unmask answer) + aggregator - plain mean,
 *                over ceil(K / cores) * training.
 *   distributed  each institution on its own machine, masks built while it waits for the next model
 *                (precompute), the aggregator checking each input as it arrives (and the plain one
 *                adding each as it arrives): added = critical path + unmask answer + one input's
 *                check + unmask + decode - one input's share of the plain mean, over one training.
 *
 * Options: --sizes 1000000,10000000  --rounds 3  --train-ms-per-mparam 4  --dropout (one institution
 * drops after masking in every measured round)  --bits 16,32 (lane widths: 16 masks a round's update
 * with clip 0.004, the federation's default; 32 also as the weights with clip 8).
 *
 * Signatures here are the test HMAC stand-in (libs/secure-agg/src/secagg/testing): the consortium's
 * RSA-PSS envelopes cost ~1 ms per signature and ~0.1 ms per check on this machine, two signatures
 * per institution and 2K checks at the aggregator per round.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  applyMaskStreams,
  CHUNK_WORDS,
  encodeRange,
  fixedPoint,
  SecureAggregationSession,
  type SecureRoundResult,
} from '../src/secagg/index';
import { fakeEnvelopes } from '../src/secagg/testing/fake-envelopes';
import { syntheticInputs } from '../src/secagg/testing/inputs';
import { weightedMeanInto } from '../../federation/src/aggregation';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
/** A positive number for `--name`, or one line saying what was expected and exit code 2. */
function positive(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (text.trim() !== '' && Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n))) return n;
  process.stderr.write(
    `error: --${name} expects ${integer ? 'a whole number' : 'a number'} > 0, got "${text}"\n`,
  );
  process.exit(2);
}
const sizes = arg('sizes', '1000000,10000000')
  .split(',')
  .map((s) => positive('sizes', s, true));
const rounds = positive('rounds', arg('rounds', '3'), true);
const trainMsPerM = positive('train-ms-per-mparam', arg('train-ms-per-mparam', '4'), false);
const dropout = process.argv.includes('--dropout');
const laneBits = arg('bits', '16,32')
  .split(',')
  .map((s) => {
    if (!['8', '16', '32'].includes(s.trim())) {
      process.stderr.write(`error: --bits expects 8, 16 and/or 32, got "${s}"\n`);
      process.exit(2);
    }
    return Number(s) as 8 | 16 | 32;
  });

interface Variant {
  k: number;
  /** Undefined: every pair. */
  maskDegree?: number;
  vectorDigest: 'sha256' | 'none';
}
const variants: Variant[] = [
  { k: 3, vectorDigest: 'sha256' },
  { k: 5, vectorDigest: 'sha256' },
  { k: 10, vectorDigest: 'sha256' },
  { k: 10, maskDegree: 4, vectorDigest: 'sha256' },
  { k: 3, vectorDigest: 'none' },
  { k: 10, maskDegree: 4, vectorDigest: 'none' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (f: () => void, reps = 5) => {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    b = Math.min(b, performance.now() - t);
  }
  return b;
};

// ---------------------------------------------------------------- primitive speeds
function primitives() {
  const n = 10_000_000;
  const words = new Uint32Array(n);
  const key = new Uint8Array(randomBytes(16));
  const zero = new Uint8Array(CHUNK_WORDS * 4);
  const aesMs = best(() => {
    const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    for (let i = 0; i < n; i += CHUNK_WORDS) c.update(zero);
  });
  const kernelMs = best(() => applyMaskStreams(words, [{ key, sign: 1 }]));
  const kernel4Ms = best(() =>
    applyMaskStreams(
      words,
      [1, -1, 1, -1].map((sign) => ({ key: new Uint8Array(randomBytes(16)), sign: sign as 1 | -1 })),
    ),
  );
  const shaMs = best(() => createHash('sha256').update(new Uint8Array(words.buffer)).digest());
  // Keystream speed by request size (OpenSSL allocates each update()'s output), for CHUNK_WORDS.
  const keystreamGBsByChunkKiB: Record<number, number> = {};
  for (const kib of [16, 32, 64, 128, 256]) {
    const z = new Uint8Array(kib * 1024);
    const ms = best(() => {
      const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
      for (let i = 0; i < n * 4; i += z.length) c.update(z);
    });
    keystreamGBsByChunkKiB[kib] = (n * 4) / ms / 1e6;
  }
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
  const fp = fixedPoint(10);
  const encodeMs = best(() => encodeRange(x, words, fp));
  const gbs = (ms: number, bytes = n * 4) => bytes / ms / 1e6;
  return {
    words: n,
    aes128ctrKeystreamGBs: gbs(aesMs),
    maskKernelOneStreamGBs: gbs(kernelMs),
    maskKernelFourStreamsGBs: gbs(kernel4Ms, 4 * n * 4),
    sha256GBs: gbs(shaMs),
    keystreamGBsByChunkKiB,
    encodeMsPer10M: encodeMs,
  };
}

// ---------------------------------------------------------------- rounds
interface Row {
  k: number;
  bits: number;
  params: number;
  threshold: number;
  maskDegree: number;
  vectorDigest: string;
  dropped: number;
  setupMs: number;
  setupBytesPerInstitution: number;
  /** Institution, masking directly: plan + encode + masks + digest + signature. */
  maskingMs: number;
  /** Institution, precompute mode: building the masks (can be hidden) and the critical path. */
  precomputeMs: number;
  criticalPathMs: number;
  clientUnmaskMs: number;
  /** Aggregator: checking and adding all K inputs; reconstruction + mask removal; decoding. */
  serverCollectMs: number;
  serverUnmaskMs: number;
  decodeMs: number;
  /** The plain float64 mean of the same inputs, which secure aggregation replaces. */
  plainMeanMs: number;
  bytesSentPerInstitution: number;
  bytesReceivedPerInstitution: number;
  trainMs: number;
  embeddedAddedMs: number;
  embeddedOverhead: number;
  distributedAddedMs: number;
  distributedOverhead: number;
}

/** What secure aggregation replaces: the federation's own (single-thread) FedAvg kernel. */
function plainMean(inputs: Map<string, Float32Array>, out: Float32Array): void {
  const vs = [...inputs.values()];
  weightedMeanInto(vs, new Float64Array(vs.length).fill(1 / vs.length), out);
}

async function measure(v: Variant, n: number, bits: 8 | 16 | 32): Promise<Row> {
  const { k } = v;
  // 16 and 8 bits: a round's update (entries within a few learning rates), clip 8 lr = 0.004.
  const update = bits < 32;
  const names = Array.from({ length: k }, (_, i) => `inst-${i}`);
  const { signers, verifier } = fakeEnvelopes(names);
  const setup = (tag: string) =>
    SecureAggregationSession.setup({
      federationId: `bench-${k}-${n}-${tag}`,
      institutions: names,
      signers,
      verifier,
      maskDegree: v.maskDegree,
      vectorDigest: v.vectorDigest,
      bits,
      clip: update ? 0.004 : undefined,
    });
  const session = await setup('main');
  const inputs = syntheticInputs(names, n, 1, update ? 0.003 : 0.9);
  const out = new Float32Array(n);
  let round = 1;
  const run = async (precompute: boolean): Promise<SecureRoundResult> => {
    if (!dropout) return session.aggregate(round++, inputs, { out, precompute });
    // A dropped institution is excluded for good: a fresh key set-up per measured round, warmed up
    // by one round without dropout (so buffers are not touched for the first time in the measured one).
    const s = await setup(String(round));
    await s.aggregate(round++, inputs, { out, precompute });
    return s.aggregate(round++, inputs, { out, precompute, dropAfterMasking: [names[k - 1]] });
  };
  await run(false); // warm-up: JIT, buffers
  await run(true);
  const direct: SecureRoundResult[] = [];
  const pre: SecureRoundResult[] = [];
  const plain: number[] = [];
  for (let r = 0; r < rounds; r++) {
    direct.push(await run(false));
    pre.push(await run(true));
    const t = performance.now();
    plainMean(inputs, out);
    plain.push(performance.now() - t);
  }
  const m = (rs: SecureRoundResult[], f: (r: SecureRoundResult) => number) => median(rs.map(f));
  const maskingMs = m(direct, (r) => r.timings.maskingMsMean);
  const criticalPathMs = m(pre, (r) => r.timings.maskingMsMean);
  const precomputeMs = m(pre, (r) => r.timings.precomputeMsMean);
  const serverCollectMs = m(direct, (r) => r.timings.serverCollectMs);
  const serverUnmaskMs = m(direct, (r) => r.timings.serverUnmaskMs);
  const decodeMs = m(direct, (r) => r.timings.decodeMs);
  const clientUnmaskMs = m(direct, (r) => r.timings.clientUnmaskMsMean);
  const plainMeanMs = median(plain);
  const trainMs = (trainMsPerM * n) / 1e6;
  const cores = Math.max(1, cpus().length);
  const waves = Math.ceil(k / cores);
  const embeddedAddedMs =
    waves * (maskingMs + clientUnmaskMs) + serverCollectMs + serverUnmaskMs + decodeMs - plainMeanMs;
  // Both aggregators stream: the plain one would also add each input as it arrives, so only its
  // last input's share of the plain mean is on the critical path.
  const distributedAddedMs =
    criticalPathMs + clientUnmaskMs + serverCollectMs / k + serverUnmaskMs + decodeMs - plainMeanMs / k;
  return {
    k,
    bits,
    params: n,
    threshold: session.config.threshold,
    maskDegree: session.config.maskDegree,
    vectorDigest: v.vectorDigest,
    dropped: dropout ? 1 : 0,
    setupMs: session.setupMs,
    setupBytesPerInstitution: session.setupBytesPerInstitution,
    maskingMs,
    precomputeMs,
    criticalPathMs,
    clientUnmaskMs,
    serverCollectMs,
    serverUnmaskMs,
    decodeMs,
    plainMeanMs,
    bytesSentPerInstitution: m(direct, (r) => r.bytesSentPerInstitution),
    bytesReceivedPerInstitution: m(direct, (r) => r.bytesReceivedPerInstitution),
    trainMs,
    embeddedAddedMs,
    embeddedOverhead: embeddedAddedMs / (waves * trainMs),
    distributedAddedMs,
    distributedOverhead: distributedAddedMs / trainMs,
  };
}

const fmt = (v: number, digits = 1) => v.toFixed(digits);
const prim = primitives();
console.log(
  `AES-128-CTR keystream ${fmt(prim.aes128ctrKeystreamGBs, 2)} GB/s; mask kernel ${fmt(prim.maskKernelOneStreamGBs, 2)} GB/s ` +
    `(1 stream), ${fmt(prim.maskKernelFourStreamsGBs, 2)} GB/s of mask words (4 streams); SHA-256 ${fmt(prim.sha256GBs, 2)} GB/s; ` +
    `encode ${fmt(prim.encodeMsPer10M)} ms / 10 M; keystream by request size: ` +
    Object.entries(prim.keystreamGBsByChunkKiB)
      .map(([kib, gbs]) => `${kib} KiB ${fmt(gbs, 2)} GB/s`)
      .join(', '),
);
// Warm-up: JIT-compile every path (direct, precompute, dropout) before anything is measured.
{
  const names = ['w0', 'w1', 'w2'];
  const { signers, verifier } = fakeEnvelopes(names);
  const s = await SecureAggregationSession.setup({
    federationId: 'warm-up',
    institutions: names,
    signers,
    verifier,
  });
  const inputs = syntheticInputs(names, 1_000_000, 9);
  for (let r = 1; r <= 6; r++) await s.aggregate(r, inputs, { precompute: r % 2 === 0 });
  await s.aggregate(7, inputs, { dropAfterMasking: ['w2'] });
}

const rows: Row[] = [];
for (const n of sizes) {
  for (const bits of laneBits) {
    for (const v of variants) {
      const row = await measure(v, n, bits);
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}

const header = [
  'K',
  'bits',
  'params',
  't',
  'pairs/inst',
  'digest',
  'mask ms',
  'precomp / crit. ms',
  'agg sum ms',
  'agg unmask ms',
  'plain mean ms',
  'MB sent/inst',
  'KB recv/inst',
  'overhead embedded',
  'overhead distributed',
];
const lines = rows.map((r) => [
  String(r.k),
  String(r.bits),
  `${r.params / 1e6} M`,
  String(r.threshold),
  r.maskDegree >= r.k - 1 ? `all ${r.k - 1}` : String(r.maskDegree),
  r.vectorDigest,
  fmt(r.maskingMs),
  `${fmt(r.precomputeMs)} / ${fmt(r.criticalPathMs)}`,
  fmt(r.serverCollectMs),
  fmt(r.serverUnmaskMs),
  fmt(r.plainMeanMs),
  fmt(r.bytesSentPerInstitution / 1e6, 2),
  fmt(r.bytesReceivedPerInstitution / 1e3, 2),
  `${fmt(100 * r.embeddedOverhead, 0)}% (+${fmt(r.embeddedAddedMs, 0)} ms)`,
  `${fmt(100 * r.distributedOverhead, 0)}% (+${fmt(r.distributedAddedMs, 0)} ms)`,
]);
const table = [header, header.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
console.log(
  `\nsecure aggregation per round${dropout ? ' (one institution drops after masking)' : ''}, ` +
    `training ${trainMsPerM} ms per million parameters, ${cpus().length} cores:\n${table}`,
);

mkdirSync('bench-output', { recursive: true });
const file = dropout ? 'bench-output/secagg-dropout.json' : 'bench-output/secagg.json';
writeFileSync(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      trainMsPerM,
      rounds,
      dropout,
      primitives: prim,
      rows,
    },
    null,
    2,
  ),
);
console.log(`wrote ${file}`);
