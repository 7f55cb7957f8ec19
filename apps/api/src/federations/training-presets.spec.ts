import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, TRAINING_PRESETS } from '@fl/federation';
import { platformPresets, presetDefaults, presetProblem } from './training-presets';

describe('training presets on the platform', () => {
  it('lists every command line preset, single models (any genes) available on the platform', () => {
    const listed = platformPresets();
    expect(listed.map((p) => p.name)).toEqual(PRESET_NAMES);
    expect(listed.find((p) => p.name === 'published')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 1,
    });
    expect(listed.find((p) => p.name === 'ensemble')).toMatchObject({
      availableOnPlatform: false,
      ensembleSize: 3,
    });
    expect(listed.find((p) => p.name === 'variable-genes')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 1,
      variableGenes: 2000,
    });
    expect(listed.find((p) => p.name === 'variable-genes-ensemble')).toMatchObject({
      availableOnPlatform: false,
      ensembleSize: 3,
      variableGenes: 2000,
    });
    expect(listed.every((p) => p.description.length > 0)).toBe(true);
  });

  it("takes the named preset's values, the published ones without a usable name", () => {
    expect(presetDefaults('ensemble')).toEqual({
      rounds: 200,
      localSteps: 1,
      learningRate: 0.0005,
      variableGenes: 0,
    });
    expect(presetDefaults('variable-genes')).toMatchObject({ rounds: 600, variableGenes: 2000 });
    const published = { rounds: 300, localSteps: 1, learningRate: 0.0005, variableGenes: 0 };
    expect(presetDefaults(undefined)).toEqual(published);
    expect(presetDefaults(null)).toEqual(published);
    expect(presetDefaults('nonsense')).toEqual(published);
    expect(TRAINING_PRESETS.published).toMatchObject(published);
  });

  it('names the known presets for an unknown one and sends the ensemble to the command line', () => {
    expect(presetProblem('published')).toBeNull();
    expect(presetProblem('Published')).toBe(
      'unknown preset "Published" (expected one of published, ensemble, variable-genes, variable-genes-ensemble)',
    );
    expect(presetProblem('ensemble')).toBe(
      'the "ensemble" preset trains 3 models and runs only in the command line so far ' +
        '(scprivacy run --preset ensemble); use "published", "variable-genes" or leave preset out',
    );
    expect(presetProblem('variable-genes')).toBeNull();
    expect(presetProblem('variable-genes-ensemble')).toMatch(
      /^the "variable-genes-ensemble" preset trains 3 models and runs only in the command line so far/,
    );
  });
});
