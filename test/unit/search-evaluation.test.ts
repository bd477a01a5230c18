/**
 * The pure parts of `cmir train`'s search evaluation (src/cli/search-evaluation.ts, docs/adr/0025): which
 * configurations it sweeps and in which order, which one it picks, and when it warns that a model is near chance.
 */
import { describe, expect, it } from 'vitest';
import { nearChanceWarning, pickBest, sweepConfigs } from '../../src/cli/search-evaluation.ts';
import { fixedSearchDefaults } from '../../src/cli/commands/train.ts';

describe('search evaluation: the sweep', () => {
  it('sweeps scale sweep x structure at refine 20, cheapest first', () => {
    expect(sweepConfigs()).toEqual([
      { scaleTolerance: 0, structureWeight: 0, refine: 20 },
      { scaleTolerance: 0, structureWeight: 0.5, refine: 20 },
      { scaleTolerance: 0.1, structureWeight: 0, refine: 20 },
      { scaleTolerance: 0.1, structureWeight: 0.5, refine: 20 },
    ]);
    // a wider grid: scales cost most (three times the poses), so every one-scale config comes before any scale sweep
    const all = sweepConfigs({}, { scaleTolerance: [0.1, 0], structureWeight: [0.5, 0], refine: [20, 0] });
    expect(all).toHaveLength(8);
    expect(all[0]).toEqual({ scaleTolerance: 0, structureWeight: 0, refine: 0 });
    expect(all.at(-1)).toEqual({ scaleTolerance: 0.1, structureWeight: 0.5, refine: 20 });
    expect(all.slice(0, 4).every((c) => c.scaleTolerance === 0)).toBe(true);
  });

  it('does not sweep what the user gave on the command line', () => {
    const fixed = fixedSearchDefaults({ pair: 'x', structureWeight: 0.3, refine: 5 });
    expect(fixed).toEqual({ structureWeight: 0.3, refine: 5 });
    expect(sweepConfigs(fixed)).toEqual([
      { scaleTolerance: 0, structureWeight: 0.3, refine: 5 },
      { scaleTolerance: 0.1, structureWeight: 0.3, refine: 5 },
    ]);
    expect(sweepConfigs({ scaleTolerance: 0.2, structureWeight: 0, refine: 0 })).toEqual([{ scaleTolerance: 0.2, structureWeight: 0, refine: 0 }]);
  });
});

describe('search evaluation: the pick', () => {
  const cfg = (scaleTolerance: number, structureWeight: number, refine: number, meanAcc1: number) => ({ scaleTolerance, structureWeight, refine, meanAcc1 });

  it('takes the highest mean Acc@1 wherever it is in the list', () => {
    const list = [cfg(0, 0, 0, 0.25), cfg(0.1, 0.5, 20, 0.5), cfg(0, 0.5, 0, 0.75), cfg(0.1, 0, 0, 0.5)];
    expect(pickBest(list)).toBe(list[2]);
    expect(pickBest([...list].reverse())).toBe(list[2]);
  });

  it('gives a tie to the cheaper configuration: fewer scales, then no structure, then less refinement', () => {
    expect(pickBest([cfg(0.1, 0, 0, 0.5), cfg(0, 0.5, 20, 0.5)])).toEqual(cfg(0, 0.5, 20, 0.5));
    expect(pickBest([cfg(0, 0.5, 0, 0.5), cfg(0, 0, 20, 0.5)])).toEqual(cfg(0, 0, 20, 0.5));
    expect(pickBest([cfg(0, 0, 20, 0.5), cfg(0, 0, 0, 0.5)])).toEqual(cfg(0, 0, 0, 0.5));
    expect(() => pickBest([])).toThrow();
  });
});

describe('search evaluation: near chance', () => {
  it('warns below twice chance, and when the interval does not clear chance', () => {
    // 6 held-out pairs: chance 1/6; 24 queries
    expect(nearChanceWarning({ pooledAcc1: 0.25, pooledCi95: [0.12, 0.45] }, 1 / 6, 24)).toMatch(/near chance.*Acc@1 25\.0 %.*chance 16\.7 %/);
    expect(nearChanceWarning({ pooledAcc1: 0.4, pooledCi95: [0.15, 0.7] }, 1 / 6, 5)).toMatch(/near chance/);
    expect(nearChanceWarning({ pooledAcc1: 0.4, pooledCi95: [0.22, 0.6] }, 1 / 6, 24)).toBeNull();
    expect(nearChanceWarning({ pooledAcc1: 0.9, pooledCi95: [0.7, 0.97] }, 1 / 6, 24)).toBeNull();
  });
});
