import { describe, expect, it } from 'vitest';
import type { Annotation } from './annotate';
import { formatPredictionsCsv, formatResultTxt } from './prediction-files';

function annotation(cellIds: string[], labels: string[], source = '/data/query.csv'): Annotation {
  return {
    source,
    cellIds,
    labels,
    confidence: Float32Array.from(cellIds.map(() => 0.5)),
    institutions: cellIds.map(() => 'alpha'),
    coveredGenes: 10,
    modelGenes: 10,
  };
}

describe('formatPredictionsCsv', () => {
  it('should write one quoted-where-needed row per cell', () => {
    const csv = formatPredictionsCsv([annotation(['c1', 'c,2', 'c"3"'], ['T cell', 'B, naive', 'NK'])]);
    expect(csv).toBe(
      'cell_id,label,confidence,best_institution,query_file\n' +
        'c1,T cell,0.500000,alpha,query.csv\n' +
        '"c,2","B, naive",0.500000,alpha,query.csv\n' +
        '"c""3""",NK,0.500000,alpha,query.csv\n',
    );
  });

  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\rcmd', `"'\rcmd"`],
  ])('should neutralise a formula-leading cell %j as %s', (id, written) => {
    const csv = formatPredictionsCsv([annotation([id], [id], `/q/${id}.csv`)]);
    const row = csv.split('\n')[1];
    expect(row.startsWith(`${written},${written},0.500000,alpha,`)).toBe(true);
  });

  it('should leave ordinary text and numbers alone, negative correlations included', () => {
    const a = annotation(['AAAC-1', 'x=y', '-7'], ['CD4+ T', 'a-b', 'unassigned']);
    a.confidence[2] = -0.25;
    expect(formatPredictionsCsv([a]).split('\n').slice(1, 4)).toEqual([
      'AAAC-1,CD4+ T,0.500000,alpha,query.csv',
      'x=y,a-b,0.500000,alpha,query.csv',
      '-7,unassigned,-0.250000,alpha,query.csv',
    ]);
  });
});

describe('formatResultTxt', () => {
  it('should write `id<TAB>label` per cell', () => {
    expect(formatResultTxt([annotation(['c1', 'c2'], ['T', 'B'])])).toBe('c1\tT\nc2\tB\n');
  });

  it('should keep one line per cell whatever an id or label holds', () => {
    const text = formatResultTxt([annotation(['c\n1', 'c\t2', 'c\r3'], ['T\nx', 'B', 'N\tK'])]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 3).map((l) => l.split('\t').length)).toEqual([2, 2, 2]);
    expect(text).not.toMatch(/\r/);
  });
});
