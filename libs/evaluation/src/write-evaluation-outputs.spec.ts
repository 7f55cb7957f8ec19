import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { evaluate } from './evaluate';
import { writeEvaluationOutputs } from './write-evaluation-outputs';

const report = evaluate(
  new Map([
    ['c1', 'A'],
    ['c2', 'B'],
  ]),
  new Map([
    ['c1', 'A'],
    ['c2', 'A'],
  ]),
);

describe(writeEvaluationOutputs.name, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evaluation-out-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should write pretty JSON that parses back to the report, creating folders', async () => {
    const json = join(dir, 'nested', 'report.json');
    await writeEvaluationOutputs(report, { json });
    const text = await readFile(json, 'utf8');
    expect(JSON.parse(text)).toEqual(report);
    expect(text).toContain('\n  "accuracy": 0.5,\n');
    expect(text).toContain('[1, 1]'); // confusion rows stay on one line
  });

  it('should choose the figure format from the extension', async () => {
    const svg = join(dir, 'confusion.svg');
    const png = join(dir, 'confusion.PNG');
    await writeEvaluationOutputs(report, { figure: svg });
    await writeEvaluationOutputs(report, { figure: png });
    expect((await readFile(svg, 'utf8')).startsWith('<svg')).toBe(true);
    expect((await readFile(png)).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('should refuse another extension before writing anything', async () => {
    const json = join(dir, 'not-written.json');
    const figure = join(dir, 'confusion.pdf');
    await expect(writeEvaluationOutputs(report, { json, figure })).rejects.toThrow(InputError);
    await expect(writeEvaluationOutputs(report, { json, figure })).rejects.toThrow(
      /confusion\.pdf: the figure's extension must be \.svg or \.png, got "\.pdf"/,
    );
    await expect(stat(json)).rejects.toThrow(/ENOENT/);
  });
});
