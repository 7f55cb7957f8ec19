import { describe, expect, it } from 'vitest';
import type { DriverState, FederationOptions } from './federation-driver';
import { ModelVersionPruner, type StoredModelVersion } from './model-retention';
import { objectKeys } from './object-keys';
import { MemoryFederation } from './testing/in-memory-federation';
import { PBMC_MINI_REFERENCES } from './testing/pbmc-mini';

// Two PBMC institutions of examples/pbmc-mini, a small model: the rounds themselves do not matter.
const references = PBMC_MINI_REFERENCES.slice(0, 2);

const options: FederationOptions = {
  rounds: 5,
  checkpointEvery: 2,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 3,
  hiddenSize: 16,
  embeddingSize: 4,
  weighting: 'uniform',
  secureAggregation: false,
  roundDeadlineSeconds: 30,
};

const FED = 'fed-test';
const modelKey = (round: number) => objectKeys.model(FED, round);
const storedRounds = (fed: MemoryFederation) => [...fed.state.versions.keys()].sort((a, b) => a - b);
const modelObjects = (fed: MemoryFederation) => fed.store.list(objectKeys.models(FED));

/** Stops after `rounds` rounds (plain federation: describe, then one step per round). */
const stopAfterRound = (rounds: number) => {
  let steps = 0;
  return () => ++steps > rounds + 1;
};

describe('model-version retention in the driver', () => {
  it('keeps the checkpoints and the final model of 5 rounds with checkpointEvery 2: rounds 2, 4, 5', async () => {
    const fed = await MemoryFederation.create({ references, options });
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    expect(storedRounds(fed)).toEqual([2, 4, 5]);
    expect(await modelObjects(fed)).toEqual([modelKey(2), modelKey(4), modelKey(5)]);
    // Every round still has its record; only the models went.
    expect(fed.state.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
  });

  it('uses ceil(rounds / 10) when checkpointEvery is not given', async () => {
    const fed = await MemoryFederation.create({
      references,
      options: { ...options, rounds: 12, checkpointEvery: undefined },
    });
    await fed.driver().run();
    expect(storedRounds(fed)).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('keeps the latest round while stopped, resumes from it, and never deletes a pinned version', async () => {
    const fed = await MemoryFederation.create({ references, options });
    const stopped = await fed.driver(stopAfterRound(3)).run();
    expect(stopped.round).toBe(3);
    // Round 3 is neither a checkpoint nor pinned, but it is what the federation resumes from.
    expect(storedRounds(fed)).toEqual([2, 3]);
    expect(stopped.model!.key).toBe(modelKey(3));
    expect(await modelObjects(fed)).toEqual([modelKey(2), modelKey(3)]);

    fed.state.pinned.add(3);
    const end = await fed.driver().run(); // a restarted aggregator
    expect(end.phase).toBe('done');
    expect(storedRounds(fed)).toEqual([2, 3, 4, 5]);
    expect(await modelObjects(fed)).toEqual([modelKey(2), modelKey(3), modelKey(4), modelKey(5)]);

    // The same model as a run that was never stopped.
    const straight = await MemoryFederation.create({ references, options });
    await straight.driver().run();
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from((await straight.finalWeights()).buffer),
    );
  });

  it('never leaves a version whose object is gone; an object left by a failed delete goes at the next start', async () => {
    const fed = await MemoryFederation.create({ references, options });
    const remove = fed.store.remove.bind(fed.store);
    let failing = true;
    fed.store.remove = async (key: string) => {
      if (failing && key === modelKey(1)) throw new Error('object store unreachable');
      return remove(key);
    };
    await expect(fed.driver().run()).rejects.toThrow(/object store unreachable/);
    // Round 1's row went first; its object stayed. No row names a missing object.
    for (const v of fed.state.versions.values()) expect(fed.store.objects.has(v.weights.key)).toBe(true);
    expect(fed.state.versions.has(1)).toBe(false);
    expect(await modelObjects(fed)).toContain(modelKey(1));

    failing = false;
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    expect(storedRounds(fed)).toEqual([2, 4, 5]);
    expect(await modelObjects(fed)).toEqual([modelKey(2), modelKey(4), modelKey(5)]);
  });

  it('keeps the object of a version whose row could not be deleted', async () => {
    const fed = await MemoryFederation.create({ references, options });
    fed.state.deleteModelVersion = async () => {
      throw new Error('Postgres unreachable');
    };
    await expect(fed.driver().run()).rejects.toThrow(/Postgres unreachable/);
    expect(storedRounds(fed)).toEqual([0, 1]);
    for (const v of fed.state.versions.values()) expect(fed.store.objects.has(v.weights.key)).toBe(true);
  });

  it('refuses a checkpointEvery outside 1..rounds before doing anything', async () => {
    const fed = await MemoryFederation.create({ references, options: { ...options, checkpointEvery: 6 } });
    expect(() => fed.driver()).toThrow(/checkpointEvery must be a whole number between 1 and rounds \(5\)/);
    expect(fed.calls).toEqual([]);
  });
});

describe('ModelVersionPruner', () => {
  const state = (round: number): DriverState => ({
    phase: 'rounds',
    attempt: 0,
    round,
    model: { key: modelKey(round), sha256: 'x' },
  });

  /** Ports around a list of versions; `pinnedLate` are pinned after the listing, before the delete. */
  function ports(versions: StoredModelVersion[], pinnedLate: number[] = []) {
    const objects = new Set(versions.map((v) => v.objectKey));
    const rows = new Map(versions.map((v) => [v.round, v]));
    const deleted: number[] = [];
    return {
      objects,
      rows,
      deleted,
      ports: {
        state: {
          modelVersions: async () => [...rows.values()],
          deleteModelVersion: async (round: number) => {
            if (pinnedLate.includes(round)) return false;
            deleted.push(round);
            return rows.delete(round);
          },
        } as never,
        listObjects: async (prefix: string) => [...objects].filter((k) => k.startsWith(prefix)),
        removeObject: async (key: string) => void objects.delete(key),
      },
    };
  }
  const version = (round: number, pinned = false) => ({ round, pinned, objectKey: modelKey(round) });

  it('keeps the object of a version pinned between its listing and its delete', async () => {
    const p = ports([version(2), version(3), version(4)], [3]);
    await new ModelVersionPruner(FED, { rounds: 5, checkpointEvery: 2 }, p.ports).afterSave(state(4));
    expect([...p.rows.keys()]).toEqual([2, 3, 4]);
    expect(p.objects).toEqual(new Set([modelKey(2), modelKey(3), modelKey(4)]));
  });

  it('prunes once per completed round, not at every save', async () => {
    const p = ports([version(1), version(2)]);
    const pruner = new ModelVersionPruner(FED, { rounds: 5, checkpointEvery: 2 }, p.ports);
    await pruner.afterSave(state(2));
    expect(p.deleted).toEqual([1]);
    p.rows.set(1, version(1)); // would be pruned again if the same round were looked at twice
    await pruner.afterSave(state(2));
    expect(p.deleted).toEqual([1]);
  });

  it('does nothing before the initial model exists', async () => {
    const p = ports([]);
    await new ModelVersionPruner(FED, { rounds: 5, checkpointEvery: 2 }, p.ports).afterSave({
      phase: 'describe',
      attempt: 0,
      round: 0,
    });
    expect(p.deleted).toEqual([]);
  });

  it('sweeps model objects no row names, and only those of its federation', async () => {
    const p = ports([version(2), version(3)]);
    p.objects.add(modelKey(1)); // left by a crash between the row's delete and the object's
    p.objects.add(objectKeys.model('other-federation', 1));
    p.objects.add(objectKeys.genes(FED));
    await new ModelVersionPruner(FED, { rounds: 5, checkpointEvery: 2 }, p.ports).afterSave(state(3));
    expect(p.objects).toEqual(
      new Set([modelKey(2), modelKey(3), objectKeys.model('other-federation', 1), objectKeys.genes(FED)]),
    );
  });
});
