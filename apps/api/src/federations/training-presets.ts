import { PRESET_NAMES, TRAINING_PRESETS, type PresetName, type TrainingPreset } from '@fl/federation';

/** A preset as the platform lists it (GraphQL TrainingPreset). */
export interface PlatformPreset {
  name: PresetName;
  description: string;
  rounds: number;
  localSteps: number;
  learningRate: number;
  ensembleSize: number;
  variableGenes: number;
  variableGenesPerCell: number;
  detectedValuesPerGene: number;
  inputDropout: number;
  inputDropoutMinDetection: number;
  availableOnPlatform: boolean;
}

/**
 * Every preset runs on the platform: the aggregator chooses variable genes in a gene-statistics
 * phase, and trains an ensemble's models side by side in one parameter vector. Kept as a
 * function (and a GraphQL field) so a future preset the aggregator cannot run is refused by name.
 */
export function availableOnPlatform(_preset: TrainingPreset): boolean {
  return true;
}

/** Every preset of the command line, in its order, with whether a federation may use it. */
export function platformPresets(): PlatformPreset[] {
  return PRESET_NAMES.map((name) => {
    const preset: TrainingPreset = TRAINING_PRESETS[name];
    return {
      name,
      description: preset.summary,
      rounds: preset.rounds,
      localSteps: preset.localSteps,
      learningRate: preset.learningRate,
      ensembleSize: preset.ensembleSize,
      variableGenes: preset.variableGenes,
      variableGenesPerCell: preset.variableGenesPerCell,
      detectedValuesPerGene: preset.detectedValuesPerGene,
      inputDropout: preset.inputDropout,
      inputDropoutMinDetection: preset.inputDropoutMinDetection,
      availableOnPlatform: availableOnPlatform(preset),
    };
  });
}

/** The defaults of a federation that names no preset: the published method's. */
export const DEFAULT_PRESET: PresetName = 'published';

/**
 * Why `name` cannot be a federation's preset (null: it can). The message follows the field name
 * in "Invalid federation: preset: ...".
 */
export function presetProblem(name: string): string | null {
  if (!(PRESET_NAMES as string[]).includes(name)) {
    return `unknown preset "${name}" (expected one of ${PRESET_NAMES.join(', ')})`;
  }
  return null;
}

/**
 * rounds, localSteps, learningRate, variableGenes, ensembleSize and gene dropout of the named preset (the
 * published one when none or unknown).
 */
export function presetDefaults(
  name: string | null | undefined,
): Pick<
  TrainingPreset,
  | 'rounds'
  | 'localSteps'
  | 'learningRate'
  | 'variableGenes'
  | 'variableGenesPerCell'
  | 'detectedValuesPerGene'
  | 'ensembleSize'
  | 'inputDropout'
  | 'inputDropoutMinDetection'
> {
  const known = name != null && (PRESET_NAMES as string[]).includes(name);
  const preset: TrainingPreset = TRAINING_PRESETS[known ? (name as PresetName) : DEFAULT_PRESET];
  return {
    rounds: preset.rounds,
    localSteps: preset.localSteps,
    learningRate: preset.learningRate,
    variableGenes: preset.variableGenes,
    variableGenesPerCell: preset.variableGenesPerCell,
    detectedValuesPerGene: preset.detectedValuesPerGene,
    ensembleSize: preset.ensembleSize,
    inputDropout: preset.inputDropout,
    inputDropoutMinDetection: preset.inputDropoutMinDetection,
  };
}
