import { describe, expect, it } from 'vitest';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as forms from '../public/forms.js';

const PRESETS = [
  { name: 'published', rounds: 300, localSteps: 1, learningRate: 0.0005, availableOnPlatform: true },
  { name: 'ensemble', rounds: 200, localSteps: 1, learningRate: 0.0005, availableOnPlatform: false },
];

const BASE = {
  name: 'pbmc',
  preset: 'published',
  rounds: '',
  localSteps: '',
  learningRate: '',
  seed: '',
  weighting: 'uniform',
  checkpointEvery: '',
  threshold: '',
  roundDeadlineSeconds: '',
  hiddenSize: '',
  embeddingSize: '',
  variableGenes: '',
  variableGenesPerCell: '',
  detectedValuesPerGene: '',
  ensembleSize: '',
  inputDropout: '',
  secureAggregation: true,
  institutions: ['a', 'b', 'c'],
  datasets: {},
};

function start(values: Partial<typeof BASE>) {
  return forms.federationInput({ ...BASE, ...values }, { consortiumId: 'c-1', presets: PRESETS });
}

describe('federationInput (the start form)', () => {
  it('leaves empty fields to the preset and the api, and keeps the institutions in order', () => {
    const { input, errors } = start({});
    expect(errors).toEqual([]);
    expect(input).toEqual({
      consortiumId: 'c-1',
      name: 'pbmc',
      preset: 'published',
      weighting: 'uniform',
      institutions: ['a', 'b', 'c'],
      secureAggregation: true,
    });
  });

  it('turns typed numbers into numbers', () => {
    const { input, errors } = start({
      rounds: '4',
      localSteps: '2',
      learningRate: '0.001',
      seed: '11',
      hiddenSize: '48',
      embeddingSize: '12',
      roundDeadlineSeconds: '120',
      checkpointEvery: '2',
      threshold: '2',
    });
    expect(errors).toEqual([]);
    expect(input).toMatchObject({
      rounds: 4,
      localSteps: 2,
      learningRate: 0.001,
      seed: 11,
      hiddenSize: 48,
      embeddingSize: 12,
      roundDeadlineSeconds: 120,
      checkpointEvery: 2,
      threshold: 2,
    });
  });

  it('names each field at fault with what was expected', () => {
    const { errors } = start({
      name: ' ',
      rounds: '0',
      learningRate: '1.5',
      seed: '-1',
      hiddenSize: '10',
      embeddingSize: '20',
      roundDeadlineSeconds: '5',
      institutions: [],
    });
    expect(errors).toEqual([
      { field: 'fed-name', message: 'Name: 1 to 200 characters.' },
      { field: 'fed-rounds', message: 'Rounds: a whole number from 1 to 100000, got "0".' },
      {
        field: 'fed-roundDeadlineSeconds',
        message: 'Round deadline (seconds): a whole number from 10 to 604800, got "5".',
      },
      { field: 'fed-embeddingSize', message: 'Embedding size: at most the hidden layer size (10), got 20.' },
      { field: 'fed-learningRate', message: 'Learning rate: a number above 0 and at most 1, got "1.5".' },
      { field: 'fed-seed', message: `Seed: a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got "-1".` },
      { field: 'fed-institutions', message: 'Institutions: choose at least one.' },
    ]);
  });

  it('takes a variable-gene count of 0 or at least 50, as the api does', () => {
    expect(start({ variableGenes: '2000' }).input).toMatchObject({ variableGenes: 2000 });
    expect(start({ variableGenes: '0' }).input).toMatchObject({ variableGenes: 0 });
    expect(start({}).input).not.toHaveProperty('variableGenes');
    for (const typed of ['20', '1.5', 'many'])
      expect(start({ variableGenes: typed }).errors).toEqual([
        {
          field: 'fed-variableGenes',
          message: `Variable genes per institution: 0 (every gene) or a whole number from 50 to 1000000, got "${typed}".`,
        },
      ]);
  });

  it.each([
    ['variableGenesPerCell', 'Variable genes per reference cell', 10, 10_000, ['-1', '2.5', '10001', 'few']],
    [
      'detectedValuesPerGene',
      'Detected values per variable gene',
      40,
      1_000_000,
      ['-1', '2.5', '1000001', 'few'],
    ],
  ] as const)('takes a gene cap %s from 0 to its bound, as the api does', (key, label, good, max, bads) => {
    expect(start({ [key]: String(good) }).input).toMatchObject({ [key]: good });
    expect(start({ [key]: '0' }).input).toMatchObject({ [key]: 0 });
    expect(start({}).input).not.toHaveProperty(key);
    for (const typed of bads)
      expect(start({ [key]: typed }).errors).toEqual([
        {
          field: `fed-${key}`,
          message: `${label}: 0 (no cap) or a whole number from 1 to ${max}, got "${typed}".`,
        },
      ]);
  });

  it('notes an ensemble version, and nothing for a single model', () => {
    expect(forms.ensembleNote({ models: 3 })).toBe('ensemble of 3 models');
    expect(forms.ensembleNote({ models: 1 })).toBeNull();
  });

  it('takes a number of models from 1 to 16, as the api does', () => {
    expect(start({ ensembleSize: '3' }).input).toMatchObject({ ensembleSize: 3 });
    expect(start({}).input).not.toHaveProperty('ensembleSize');
    expect(start({ ensembleSize: '17' }).errors.map((e: { field: string }) => e.field)).toEqual([
      'fed-ensembleSize',
    ]);
    expect(start({ ensembleSize: '17' }).errors[0].message).toMatch(/^Models \(ensemble\): /);
  });

  it('takes a gene dropout from 0 to 0.9, as the api does', () => {
    expect(start({ inputDropout: '0.2' }).input).toMatchObject({ inputDropout: 0.2 });
    expect(start({ inputDropout: '0' }).input).toMatchObject({ inputDropout: 0 });
    expect(start({}).input).not.toHaveProperty('inputDropout');
    for (const bad of ['0.95', '-0.1', 'a lot']) {
      const { errors } = start({ inputDropout: bad });
      expect(errors.map((e: { field: string }) => e.field)).toEqual(['fed-inputDropout']);
      expect(errors[0].message).toBe(`Gene dropout: a number from 0 (none) to 0.9, got "${bad}".`);
    }
  });

  it('bounds checkpointEvery by the rounds, typed or the preset’s', () => {
    expect(start({ rounds: '5', checkpointEvery: '6' }).errors).toEqual([
      { field: 'fed-checkpointEvery', message: 'Checkpoint every: a whole number from 1 to 5, got "6".' },
    ]);
    expect(start({ checkpointEvery: '300' }).errors).toEqual([]);
    expect(start({ checkpointEvery: '301' }).errors).toHaveLength(1);
  });

  it('asks a secure federation for a majority threshold, and none of one institution', () => {
    // 3 institutions: a majority is 2.
    expect(start({ threshold: '1' }).errors[0]).toEqual({
      field: 'fed-threshold',
      message: 'Threshold: a whole number from 2 to 3, got "1".',
    });
    expect(start({ threshold: '4' }).errors).toHaveLength(1);
    expect(start({ threshold: '1', secureAggregation: false }).errors).toEqual([]);
    expect(start({ threshold: '1', institutions: ['a'] }).errors[0].field).toBe('fed-threshold');
  });

  it('refuses a preset the platform cannot run, saying where it runs', () => {
    expect(start({ preset: 'ensemble' }).errors).toEqual([
      {
        field: 'fed-preset',
        message: 'Preset "ensemble" runs only in the command line so far (scprivacy run --preset ensemble).',
      },
    ]);
    expect(start({ preset: 'nope' }).errors[0].message).toBe('Preset: unknown "nope".');
  });

  it('sends datasets only for the institutions taking part whose choice is not all of them', () => {
    const { input, errors } = start({ institutions: ['a', 'b'], datasets: { a: ['d1'], c: ['d9'] } });
    expect(errors).toEqual([]);
    expect(input.datasets).toEqual([{ institution: 'a', datasetIds: ['d1'] }]);
    expect(start({ institutions: ['a', 'b'], datasets: { b: [] } }).errors).toEqual([
      { field: 'fed-institutions', message: 'Datasets of b: choose at least one.' },
    ]);
  });
});

describe('the other forms', () => {
  it('checks an institution name as the api does', () => {
    expect(forms.registrationProblems({ name: 'new-lab', displayName: 'New lab' })).toEqual([]);
    for (const name of ['', 'New-Lab', 'a_b', 'x'.repeat(64)]) {
      expect(forms.registrationProblems({ name, displayName: 'x' })[0].field).toBe('reg-name');
    }
    expect(forms.registrationProblems({ name: 'a', displayName: ' ' })[0].field).toBe('reg-display');
  });

  it('accepts only a whole PEM certificate request', () => {
    const pem = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----';
    expect(forms.csrProblems(`\n${pem}\n`)).toEqual([]);
    expect(forms.csrProblems('MIIB')[0].field).toBe('csr-pem');
    expect(forms.csrProblems(pem.replace('REQUEST-----\nMIIB', 'REQUEST-----'))[0].field).toBe('csr-pem');
  });

  it('checks the reject threshold: none, auto, or a correlation', () => {
    for (const ok of ['', 'auto', '0.2', '-1', '1']) expect(forms.rejectThresholdProblem(ok)).toBeNull();
    for (const bad of ['1.01', 'high', 'NaN']) {
      expect(forms.rejectThresholdProblem(bad)).toMatchObject({ field: 'job-threshold' });
    }
  });

  it('writes the worker settings file from the one-time registration', () => {
    const text = forms.workerEnvFile(
      { institution: { name: 'lab' }, token: 'scp_t', queueUsername: 'worker-lab', queuePassword: 'pw' },
      'https://api.example',
    );
    expect(text.split('\n')).toEqual([
      'INSTITUTION=lab',
      'WORKER_REDIS_URL=redis://worker-lab:pw@<redis-host>:6379',
      'WORKER_STATE_DIR=/var/lib/scprivacy/lab',
      'WORKER_KEY_PASSPHRASE=<a long secret of your own>',
      'API_URL=https://api.example',
      'API_TOKEN=scp_t',
      '',
    ]);
  });

  it('says when a certificate expires, in days', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(forms.formatExpiry('2026-12-31T12:00:00Z', now)).toBe('expires in 364 days');
    expect(forms.formatExpiry('2026-01-02T00:00:00Z', now)).toBe('expires in 1 day');
    expect(forms.formatExpiry('2025-12-31T00:00:00Z', now)).toBe('expired 1 day ago');
    expect(forms.formatExpiry('2025-12-29T00:00:00Z', now)).toBe('expired 3 days ago');
    expect(forms.formatExpiry(null, now)).toBe('no certificate');
  });

  it('describes a model version’s origin and a job’s duration', () => {
    const names = new Map([['f1', 'pbmc']]);
    expect(forms.versionOrigin({ source: 'federation', federationId: 'f1', round: 4 }, names)).toBe(
      'pbmc, round 4',
    );
    expect(forms.versionOrigin({ source: 'import', parentId: null }, names)).toBe('imported');
    expect(
      forms.jobSeconds({ createdAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:02.500Z' }),
    ).toBe(2.5);
    expect(forms.jobSeconds({ createdAt: '2026-01-01T00:00:00Z', finishedAt: null })).toBeNull();
  });

  it('says what automatic rejection chose, from a job summary', () => {
    expect(forms.autoRejectionNote({ cells: 10 })).toBeNull();
    expect(forms.autoRejectionNote(undefined)).toBeNull();
    expect(forms.autoRejectionNote({ autoThresholds: { b: 0.81234, a: 0.5 } })).toEqual({
      heading: 'outliers per predicted type',
      thresholds: ['a 0.500', 'b 0.812'],
    });
    expect(
      forms.autoRejectionNote({
        autoThresholds: { alpha: 0.9 },
        autoNovelGroup: { cells: 285, separation: 4.4, meanCorrelation: [0.553, 0.951] },
      }),
    ).toEqual({
      heading:
        '285 cells form a separate low-confidence group (mean correlation 0.55 against 0.95): ' +
        'likely cell types no reference holds',
      thresholds: ['alpha 0.900'],
    });
    expect(forms.autoRejectionNote({ autoThresholds: {} }).heading).toMatch(/none rejected/);
  });
});
