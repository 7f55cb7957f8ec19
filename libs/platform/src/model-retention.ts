import type { AggregatorPorts, DriverState, FederationPlan, FederationStatePort } from './federation-driver';
import { objectKeys } from './object-keys';
import { retentionPolicy, roundsToPrune, type RetentionPolicy } from './retention';

/** A stored model version of the federation, as retention sees it. */
export interface StoredModelVersion {
  round: number;
  pinned: boolean;
  objectKey: string;
}

/** What the state port must offer for retention (Postgres in the aggregator, memory in tests). */
export interface RetentionStatePort {
  /** The federation's stored model versions. */
  modelVersions(): Promise<StoredModelVersion[]>;
  /**
   * Deletes the version of `round` unless it is pinned at that moment (one atomic statement, so a
   * pin that lands first always wins); false when it was kept.
   */
  deleteModelVersion(round: number): Promise<boolean>;
}

/** What the object store must offer for retention. */
export interface RetentionObjectPorts {
  /** Keys starting with `prefix`. */
  listObjects(prefix: string): Promise<string[]>;
  /** Removes one object; a missing one is not an error. */
  removeObject(key: string): Promise<void>;
}

/**
 * The driver's ports with model-version retention (retention.ts) applied: once a saved state
 * names a new last completed round, the versions the policy no longer keeps are deleted. Pruning
 * follows the save, never precedes it: until the state naming round r is durable, a restarted
 * aggregator resumes from round r-1's model, so that one must still exist.
 */
export function withModelRetention(plan: FederationPlan, ports: AggregatorPorts): AggregatorPorts {
  const pruner = new ModelVersionPruner(plan.federationId, retentionPolicy(plan.options), ports);
  return { ...ports, state: new RetainingState(ports.state, pruner) };
}

class RetainingState implements FederationStatePort {
  constructor(
    private readonly inner: FederationStatePort,
    private readonly pruner: ModelVersionPruner,
  ) {}

  load(): ReturnType<FederationStatePort['load']> {
    return this.inner.load();
  }
  async save(state: DriverState): Promise<void> {
    await this.inner.save(state);
    await this.pruner.afterSave(state);
  }
  recordRound(...args: Parameters<FederationStatePort['recordRound']>): Promise<void> {
    return this.inner.recordRound(...args);
  }
  recordModelVersion(...args: Parameters<FederationStatePort['recordModelVersion']>): Promise<void> {
    return this.inner.recordModelVersion(...args);
  }
  recordLandmarks(...args: Parameters<FederationStatePort['recordLandmarks']>): Promise<void> {
    return this.inner.recordLandmarks(...args);
  }
  modelVersions(): Promise<StoredModelVersion[]> {
    return this.inner.modelVersions();
  }
  deleteModelVersion(round: number): Promise<boolean> {
    return this.inner.deleteModelVersion(round);
  }
}

export class ModelVersionPruner {
  /** The last completed round pruned for; nothing to do until the state moves past it. */
  private prunedFor: number | undefined;
  private swept = false;

  constructor(
    private readonly federationId: string,
    private readonly policy: RetentionPolicy,
    private readonly ports: Pick<AggregatorPorts, 'state' | 'listObjects' | 'removeObject'>,
  ) {}

  async afterSave(state: DriverState): Promise<void> {
    if (!state.model || state.round === this.prunedFor) return;
    await this.prune(state.round);
    this.prunedFor = state.round;
  }

  /** Deletes what the policy lets go once `currentRound` is the last completed round. */
  async prune(currentRound: number): Promise<void> {
    const { state, removeObject } = this.ports;
    const stored = await state.modelVersions();
    const remaining = new Set(stored.map((v) => v.objectKey));
    for (const round of roundsToPrune(stored, this.policy, currentRound)) {
      const version = stored.find((v) => v.round === round)!;
      // Row first, then object. The other order would leave, after a crash (or a failed delete)
      // between the two, a listed version whose weights are gone: pinnable, offered, and broken.
      // This order can at worst leave an object no row names, which nobody sees and the sweep
      // below removes at the next start. The row's delete is also where a concurrent pin wins:
      // it only deletes an unpinned row, and a kept row keeps its object.
      if (!(await state.deleteModelVersion(round))) continue;
      remaining.delete(version.objectKey);
      await removeObject(version.objectKey);
    }
    if (!this.swept) {
      await this.sweep(remaining);
      this.swept = true;
    }
  }

  /**
   * Removes model objects no version row names: what a crash between a row's delete and its
   * object's left behind. Safe because the driver is the only writer of its federation's models
   * and stores none while it prunes (a model is stored, then its row, then the state is saved).
   */
  private async sweep(referenced: ReadonlySet<string>): Promise<void> {
    for (const key of await this.ports.listObjects(objectKeys.models(this.federationId))) {
      if (!referenced.has(key)) await this.ports.removeObject(key);
    }
  }
}
