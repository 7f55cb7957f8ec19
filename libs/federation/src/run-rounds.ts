import { initParameters, type ModelShape } from '@fl/engine';
import type { AggregationStrategy } from './aggregation';
import type { InstitutionPool } from './institution-client';
import type { LandmarkSet } from './messages';

export interface RoundSummary {
  round: number;
  /** Each institution's mean loss this round, in institution order. */
  losses: number[];
  meanLoss: number;
  /** Each institution's seconds of local training this round, in institution order. */
  institutionSeconds: number[];
  /** Wall-clock seconds of the round (training + aggregation). */
  seconds: number;
  aggregateSeconds: number;
}

export interface RoundLoopOptions {
  shape: ModelShape;
  rounds: number;
  localSteps: number;
  seed: number;
  strategy: AggregationStrategy;
  onRound?: (summary: RoundSummary) => void;
}

export interface FederationOutcome {
  params: Float32Array;
  landmarks: LandmarkSet[];
  history: RoundSummary[];
}

/**
 * The server's round loop (Flower's `start()`): initialise the global model from the seed,
 * then each round send it to every institution, collect their parameters and merge them with
 * the strategy; after the last round collect every institution's landmarks.
 */
export async function runRounds(
  pool: InstitutionPool,
  options: RoundLoopOptions,
): Promise<FederationOutcome> {
  const { global } = pool;
  global.set(initParameters(options.shape, options.seed));
  const history: RoundSummary[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const started = performance.now();
    const config = { round, localSteps: options.localSteps };
    const plans = await options.strategy.planRound?.(
      round,
      pool.clients.map((c) => c.info.index),
      global.length,
    );
    const results = await Promise.all(
      pool.clients.map((c) => c.train(config, global, plans?.get(c.info.index))),
    );
    const aggregateStarted = performance.now();
    await options.strategy.aggregate(round, results, global);
    const now = performance.now();
    const losses = results.map((r) => r.loss);
    const summary: RoundSummary = {
      round,
      losses,
      meanLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
      institutionSeconds: results.map((r) => r.seconds),
      seconds: (now - started) / 1000,
      aggregateSeconds: (now - aggregateStarted) / 1000,
    };
    history.push(summary);
    options.onRound?.(summary);
  }
  const landmarks = await Promise.all(pool.clients.map((c) => c.landmarks(global)));
  return { params: global.slice(), landmarks, history };
}
