/**
 * The two halves of a platform benchmark, shared by `bench:stack` and `bench:sites`: the
 * federation embedded (in process, as `scprivacy run` trains) and the same federation through a
 * running Stack (started over GraphQL, followed in the database), the rounds' records the
 * aggregator stored, and the final model read back from the object store to compare bit for bit.
 */
import { datasetName, readExpression } from '@fl/formats';
import { trainFederatedModel, type TrainedFederation } from '@fl/federation';
import { MinioObjectStore } from '@fl/storage';
import type { Stack, StackInstitution } from '../scripts/local-stack/stack';

/** What both runs are given, so that they train the same model. */
export interface FederationSettings {
  rounds: number;
  localSteps: number;
  seed: number;
  /** Lane width of the masked updates (secure aggregation is on in both runs). */
  secaggBits: 8 | 16 | 32;
  allowSingletonTypes: boolean;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One institution per reference file, named after it (pbmc_10x_3p_v2 -> pbmc-10x-3p-v2). */
export function institutionsOf(referenceFiles: readonly string[]): StackInstitution[] {
  return referenceFiles.map((path) => ({
    name: datasetName(path).replace(/_/g, '-').toLowerCase(),
    datasets: [path],
  }));
}

export interface EmbeddedRun {
  /** Reading the references and training. */
  seconds: number;
  trained: TrainedFederation;
}

/** The federation embedded: wasm, 2 threads, secure aggregation on (as `scprivacy run`). */
export async function runEmbedded(
  institutions: readonly StackInstitution[],
  settings: FederationSettings,
): Promise<EmbeddedRun> {
  const started = performance.now();
  const matrices = [];
  for (const inst of institutions) {
    matrices.push({ name: inst.name, matrix: await readExpression(inst.datasets[0], { role: 'reference' }) });
  }
  const trained = await trainFederatedModel(matrices, {
    rounds: settings.rounds,
    localSteps: settings.localSteps,
    seed: settings.seed,
    allowSingletonTypes: settings.allowSingletonTypes,
    backend: 'wasm',
    threads: 2,
    secureAggregation: { bits: settings.secaggBits },
  });
  return { seconds: (performance.now() - started) / 1000, trained };
}

export interface DistributedRun {
  federationId: string;
  /** From the startFederation call to the federation's completion. */
  seconds: number;
}

/**
 * The same federation through the platform: started over GraphQL by the consortium admin and
 * followed in the database until it completes; `onRound` hears each newly completed round.
 */
export async function runDistributed(
  stack: Stack,
  institutions: readonly { name: string }[],
  settings: FederationSettings,
  onRound: (round: number) => void = () => undefined,
): Promise<DistributedRun> {
  const started = performance.now();
  const { startFederation } = await stack.gql<{ startFederation: { id: string } }>(
    'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
    {
      input: {
        consortiumId: stack.consortiumId,
        name: 'bench',
        institutions: institutions.map((i) => i.name),
        rounds: settings.rounds,
        localSteps: settings.localSteps,
        seed: settings.seed,
        secureAggregation: true,
        secaggBits: settings.secaggBits,
        allowSingletonTypes: settings.allowSingletonTypes,
        roundDeadlineSeconds: 600,
      },
    },
    stack.adminToken,
  );
  const id = startFederation.id;
  let last = 0;
  for (;;) {
    const f = await stack.db.prisma.federation.findUniqueOrThrow({ where: { id } });
    for (; last < f.currentRound; last++) onRound(last + 1);
    if (f.status === 'completed') break;
    if (f.status === 'failed') throw new Error(`federation failed: ${f.error}`);
    await sleep(50);
  }
  return { federationId: id, seconds: (performance.now() - started) / 1000 };
}

/** A completed round as the aggregator recorded it (timings in ms, bytes through the store). */
export interface RoundRecord {
  number: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** The masked updates the workers uploaded, all institutions together. */
  bytesIn: number;
  /** What the aggregator published for the workers to read (its size times the participants). */
  bytesOut: number;
  survivors: string[];
  timings: {
    totalMs: number;
    fetchMs?: number;
    storeMs: number;
    institutions: Record<
      string,
      { trainMs: number; maskMs: number; transferMs: number; modelBytesIn?: number }
    >;
  };
}

export async function completedRounds(stack: Stack, federationId: string): Promise<RoundRecord[]> {
  const rows = await stack.db.prisma.round.findMany({
    where: { federationId, status: 'completed' },
    orderBy: { number: 'asc' },
  });
  return rows.map((row) => ({
    number: row.number,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    bytesIn: Number(row.bytesIn),
    bytesOut: Number(row.bytesOut),
    survivors: row.survivors as string[],
    timings: row.timings as unknown as RoundRecord['timings'],
  }));
}

/** The federation's final weights, read from the object store (sha256-checked). */
export async function finalWeights(stack: Stack, federationId: string, rounds: number): Promise<Buffer> {
  const final = await stack.db.prisma.modelVersion.findFirstOrThrow({
    where: { federationId, round: rounds },
  });
  const store = new MinioObjectStore({ ...stack.s3, bucket: stack.bucket });
  return store.getBuffer(final.objectKey, final.sha256);
}

/** Whether the platform's final weights are the embedded model's, bit for bit. */
export function sameModel(embedded: TrainedFederation, weights: Buffer): boolean {
  return Buffer.from(embedded.model.params.buffer).equals(weights);
}
