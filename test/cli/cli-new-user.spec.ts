import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli';

/**
 * What a new user trips on when following the README: `--json <file>`, a native backend that
 * is not installed, TensorFlow.js's "install our node backend" banner, usage mistakes.
 */

const REF_A =
  'cell_id,CD3E,LYZ,MS4A1,cell_label\na1,2,0,0,T\na2,1.5,0,0.1,T\na3,0,3,0,Mono\na4,0.2,2.5,0,Mono\n';
const REF_B =
  'cell_id,CD3E,LYZ,MS4A1,cell_label\nb1,2.2,0,0,T\nb2,1.1,0,0.3,T\nb3,0,2,0,Mono\nb4,0,2.7,0.1,Mono\n';
const QUERY = 'cell_id,CD3E,LYZ,MS4A1\nq1,2,0,0\nq2,0,3,0\nq3,1.8,0.1,0\n';
const PREDICTIONS = 'q1\tT\nq2\tMono\nq3\tMono\n';
const TRUTH = 'q1\tT\nq2\tMono\nq3\tT\n';
const BANNER = /looks like you are running TensorFlow\.js in Node\.js/;
const STACK = /\n\s+at /;

describe('scprivacy as a new user meets it', () => {
  let dir: string;
  const train = () => join(dir, 'train');
  const test = () => join(dir, 'test');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-new-user-'));
    await mkdir(train());
    await mkdir(test());
    await writeFile(join(train(), 'a.csv'), REF_A);
    await writeFile(join(train(), 'b.csv'), REF_B);
    await writeFile(join(test(), 'query.csv'), QUERY);
    await writeFile(join(dir, 'result.txt'), PREDICTIONS);
    await writeFile(join(dir, 'truth.tsv'), TRUTH);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('evaluate --json', () => {
    it('should write the JSON report to the file given after --json, as the README shows', async () => {
      const r = runCli([
        'evaluate',
        '--pred',
        join(dir, 'result.txt'),
        '--truth',
        join(dir, 'truth.tsv'),
        '--json',
        join(dir, 'out', 'metrics.json'),
        '--figure',
        join(dir, 'out', 'confusion.svg'),
      ]);
      expect(r.stderr).not.toMatch(/too many arguments/);
      expect(r.status).toBe(0);
      const metrics = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8'));
      expect(metrics.accuracy).toBeCloseTo(2 / 3, 6);
      expect(r.stdout).toMatch(/Accuracy/); // the table still goes to the terminal
      expect(existsSync(join(dir, 'out', 'confusion.svg'))).toBe(true);
    });

    it('should still print the report as JSON on stdout with a bare --json', () => {
      const r = runCli([
        'evaluate',
        '--pred',
        join(dir, 'result.txt'),
        '--truth',
        join(dir, 'truth.tsv'),
        '--json',
      ]);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).accuracy).toBeCloseTo(2 / 3, 6);
    });
  });

  it('should write the summary of run to the file given after --json, and keep the progress', async () => {
    const r = runCli([
      'run',
      '--train',
      train(),
      '--test',
      test(),
      '--out',
      join(dir, 'json-run', 'result.txt'),
      '--model-dir',
      join(dir, 'json-run', 'model'),
      '--rounds',
      '2',
      '--threads',
      '1',
      '--json',
      join(dir, 'json-run', 'summary.json'),
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Trained 2 institutions/);
    const summary = JSON.parse(await readFile(join(dir, 'json-run', 'summary.json'), 'utf8'));
    expect(summary.annotation.cells).toBe(3);
  });

  describe('--backend with a native package that is not installed', () => {
    for (const [command, backend, pkg] of [
      ['run', 'tensorflow', '@tensorflow/tfjs-node'],
      ['run', 'tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
      ['annotate', 'tensorflow', '@tensorflow/tfjs-node'],
    ] as const) {
      it(`should refuse ${command} --backend ${backend} as an input error saying how to install ${pkg}`, () => {
        const out = join(dir, `backend-${command}-${backend}`);
        // The backend is checked before the model or any data is read: the model need not be one.
        const args =
          command === 'run'
            ? [
                'run',
                '--train',
                train(),
                '--test',
                test(),
                '--model-dir',
                join(out, 'model'),
                '--rounds',
                '2',
              ]
            : ['annotate', '--model', dir, '--test', test()];
        const r = runCli([...args, '--out', join(out, 'result.txt'), '--backend', backend]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^error: /m);
        expect(r.stderr).toContain(`npm install ${pkg}`);
        expect(r.stderr).toMatch(/--backend wasm|--backend cpu|wasm or cpu/);
        expect(r.stderr).not.toMatch(/unexpected error/);
        expect(r.stderr).not.toMatch(STACK);
        expect(existsSync(out)).toBe(false);
      });
    }
  });

  for (const threads of ['1', '2']) {
    it(`should not print TensorFlow.js's node-backend banner on the cpu backend (${threads} thread(s))`, () => {
      const out = join(dir, `cpu-${threads}`);
      const r = runCli([
        'run',
        '--train',
        train(),
        '--test',
        test(),
        '--out',
        join(out, 'result.txt'),
        '--model-dir',
        join(out, 'model'),
        '--rounds',
        '2',
        '--threads',
        threads,
        '--backend',
        'cpu',
      ]);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/tensor backend: cpu/);
      expect(r.stderr).not.toMatch(BANNER);
      expect(r.stdout).not.toMatch(BANNER);
      expect(r.stderr).not.toMatch(/={20}/);
    });
  }

  describe('choices refused before training, naming the option', () => {
    /** A run on `train` (the two tiny references unless given) with extra options; -q. */
    const runWith = (name: string, extra: string[], trainDir = train()) => {
      const out = join(dir, name);
      const r = runCli([
        'run',
        '--train',
        trainDir,
        '--test',
        test(),
        '--out',
        join(out, 'result.txt'),
        '--model-dir',
        join(out, 'model'),
        '--rounds',
        '2',
        '--threads',
        '1',
        '-q',
        ...extra,
      ]);
      return { r, out };
    };

    it('should refuse a --secagg-threshold the institutions cannot meet', () => {
      const { r, out } = runWith('threshold', ['--secagg-threshold', '5']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--secagg-threshold 5: .*2 institutions/);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(existsSync(out)).toBe(false);
    });

    it('should refuse two reference files that name the same institution', async () => {
      const twins = join(dir, 'twins');
      await mkdir(twins, { recursive: true });
      await writeFile(join(twins, 'a.csv'), REF_A);
      await writeFile(join(twins, 'a.tsv'), REF_B.replace(/,/g, '\t'));
      await writeFile(join(twins, 'b.csv'), REF_B);
      const { r } = runWith('twins', [], twins);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/a\.csv.*a\.tsv.*institution "a"|institution "a".*a\.csv.*a\.tsv/);
    });

    it('should refuse an --out that is a folder, before training', () => {
      const r = runCli([
        'run',
        '--train',
        train(),
        '--test',
        test(),
        '--out',
        dir,
        '--model-dir',
        join(dir, 'never-m'),
        '-q',
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--out .* is a folder/);
      expect(existsSync(join(dir, 'never-m'))).toBe(false);
    });

    it('should never replace a file, or a folder that is not a model bundle, with --model-dir', async () => {
      const precious = join(dir, 'precious');
      await mkdir(precious, { recursive: true });
      await writeFile(join(precious, 'notes.txt'), 'mine');
      for (const target of [join(train(), 'a.csv'), precious]) {
        const r = runCli([
          'run',
          '--train',
          train(),
          '--test',
          test(),
          '--out',
          join(dir, 'md', 'result.txt'),
          '--model-dir',
          target,
          '--rounds',
          '2',
          '-q',
        ]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/--model-dir .* (is a file|is not a model bundle)/);
      }
      expect(await readFile(join(train(), 'a.csv'), 'utf8')).toBe(REF_A);
      expect(await readFile(join(precious, 'notes.txt'), 'utf8')).toBe('mine');
    });
  });

  describe('usage mistakes', () => {
    for (const [name, args, expected] of [
      ['an unknown option', ['run', '--bogus'], /unknown option '--bogus'/],
      ['a bad option value', ['run', '--rounds', 'many'], /--rounds must be a whole number/],
      ['a missing required option', ['evaluate', '--pred', 'x'], /required option '--truth <file>'/],
      ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ] as const) {
      it(`should refuse ${name} with the exit code of a user mistake (2)`, () => {
        const r = runCli([...args]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(expected);
        expect(r.stderr).not.toMatch(STACK);
      });
    }

    it('should say which option names a missing query folder before reading the references', () => {
      const r = runCli([
        'run',
        '--train',
        train(),
        '--test',
        join(dir, 'no-such-queries'),
        '--model-dir',
        join(dir, 'never'),
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--test .*no-such-queries.*no such file or folder/);
      expect(r.stderr).not.toMatch(/reading a\b|a: \d+ cells/); // nothing was read first
      expect(existsSync(join(dir, 'never'))).toBe(false);
    });

    it('should name --train when the default train_set folder is missing', () => {
      const r = runCli(['run'], dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--train train_set: no such file or folder/);
    });
  });
});
