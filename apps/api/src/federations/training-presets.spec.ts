import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, TRAINING_PRESETS } from '@fl/federation';
import { platformPresets, presetDefaults, presetProblem } from './training-presets';

describe('training presets on the platform', () => {
  it('lists every command line preset, each available on the platform', () => {
    const listed = platformPresets();
    expect(listed.map((p) => p.name)).toEqual(PRESET_NAMES);
    expect(listed.find((p) => p.name === 'published')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 1,
    });
    expect(listed.find((p) => p.name === 'ensemble')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 3,
    });
    expect(listed.find((p) => p.name === 'variable-genes')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 1,
      variableGenes: 2000,
    });
    expect(listed.find((p) => p.name === 'variable-genes-ensemble')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 3,
      variableGenes: 2000,
    });
    expect(listed.find((p) => p.name === 'variable-genes-ensemble-dropout')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 3,
      variableGenes: 2000,
      inputDropout: 0.2,
      inputDropoutMinDetection: 0.2,
      detectedValuesPerGene: 0,
    });
    // recommended: the same, with a cap of one gene per 40 detected values.
    expect(listed.find((p) => p.name === 'recommended')).toMatchObject({
      availableOnPlatform: true,
      ensembleSize: 3,
      rounds: 200,
      variableGenes: 2000,
      inputDropout: 0.2,
      inputDropoutMinDetection: 0.2,
      detectedValuesPerGene: 40,
      variableGenesPerCell: 0,
    });
    expect(listed.every((p) => p.description.length > 0)).toBe(true);
  });

  it("takes the named preset's values, the published ones without a usable name", () => {
    expect(presetDefaults('ensemble')).toEqual({
      rounds: 200,
      localSteps: 1,
      learningRate: 0.0005,
      variableGenes: 0,
      variableGenesPerCell: 0,
      detectedValuesPerGene: 0,
      ensembleSize: 3,
      inputDropout: 0,
      inputDropoutMinDetection: 0,
    });
    expect(presetDefaults('variable-genes')).toMatchObject({
      rounds: 600,
      variableGenes: 2000,
      ensembleSize: 1,
    });
    expect(presetDefaults('variable-genes-ensemble')).toMatchObject({
      rounds: 200,
      variableGenes: 2000,
      ensembleSize: 3,
    });
    const published = {
      rounds: 300,
      localSteps: 1,
      learningRate: 0.0005,
      variableGenes: 0,
      variableGenesPerCell: 0,
      detectedValuesPerGene: 0,
      ensembleSize: 1,
      inputDropout: 0,
      inputDropoutMinDetection: 0,
    };
    expect(presetDefaults(undefined)).toEqual(published);
    expect(presetDefaults(null)).toEqual(published);
    expect(presetDefaults('nonsense')).toEqual(published);
    expect(TRAINING_PRESETS.published).toMatchObject(published);
  });

  it('names the known presets for an unknown one and accepts every known one', () => {
    expect(presetProblem('Published')).toBe(
      'unknown preset "Published" (expected one of published, ensemble, variable-genes, variable-genes-ensemble, variable-genes-ensemble-dropout, recommended)',
    );
    for (const name of PRESET_NAMES) expect(presetProblem(name), name).toBeNull();
  });
});
