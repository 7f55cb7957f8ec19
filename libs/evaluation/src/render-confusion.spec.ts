import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { renderConfusionPng, renderConfusionSvg } from './render-confusion';

const report = evaluate(
  new Map([
    ['c1', 'B cell'],
    ['c2', 'T cell'],
    ['c3', 'T cell'],
    ['c4', 'unassigned'],
  ]),
  new Map([
    ['c1', 'B cell'],
    ['c2', 'B cell'],
    ['c3', 'T cell'],
    ['c4', 'Platelet'],
  ]),
  { referenceTypes: ['B cell', 'T cell'] },
);

describe(renderConfusionSvg.name, () => {
  it('should render an SVG with the labels, axis titles, counts and headline figures', async () => {
    const svg = await renderConfusionSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const text of [
      'B cell',
      'T cell',
      'Platelet (novel)',
      'unassigned',
      'true cell type',
      'predicted cell type',
    ]) {
      expect(svg).toContain(`>${text}<`);
    }
    expect(svg).toContain('>Confusion matrix: accuracy 0.667, macro-F1 0.667 (reference types)<');
  });

  it('should escape labels that are not valid XML text', async () => {
    const odd = evaluate(new Map([['c1', 'B & <T>']]), new Map([['c1', 'B & <T>']]));
    expect(await renderConfusionSvg(odd)).toContain('>B &amp; &lt;T&gt;<');
  });

  it('should use a custom title', async () => {
    expect(await renderConfusionSvg(report, { title: 'PBMC, 10x v3' })).toContain('>PBMC, 10x v3<');
  });
});

describe(renderConfusionPng.name, () => {
  it('should render a non-trivial PNG', async () => {
    const png = await renderConfusionPng(report);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(5000);
  });
});
