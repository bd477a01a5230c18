import { describe, expect, it } from 'vitest';
import { correlationSettings, DEFAULT_STRUCTURE_WEIGHT, POSE_DEFAULTS } from '../../src/services/search.service.ts';
import type { ModalityWithModel } from '../../src/services/representation.service.ts';

/** A target modality whose CoMIR pair's manifest carries `search` (or no pair at all). */
const target = (search?: object): ModalityWithModel =>
  ({ id: 1, name: 'NIR', comirModel: search === undefined ? null : { manifest: { search } } }) as unknown as ModalityWithModel;

describe("correlation settings: the request, else the target pair's manifest, else one scale, +-30 degrees and no structure", () => {
  it('falls back to POSE_DEFAULTS without a model pair or without a search section', () => {
    expect(correlationSettings({ maxRotation: null, scaleTolerance: null, structureWeight: null }, target())).toEqual({ maxRotation: 30, scaleTolerance: 0, structureWeight: 0 });
    expect(correlationSettings({ maxRotation: null, scaleTolerance: null, structureWeight: null }, target({}))).toEqual({
      maxRotation: POSE_DEFAULTS.maxRotation,
      scaleTolerance: POSE_DEFAULTS.scaleTolerance,
      structureWeight: DEFAULT_STRUCTURE_WEIGHT,
    });
  });

  it("takes the manifest's defaults, and the request over both", () => {
    const visNir = target({ scale_tolerance: 0.1, structure_weight: 0.5 });
    expect(correlationSettings({ maxRotation: null, scaleTolerance: null, structureWeight: null }, visNir)).toEqual({ maxRotation: 30, scaleTolerance: 0.1, structureWeight: 0.5 });
    expect(correlationSettings({ maxRotation: 10, scaleTolerance: 0, structureWeight: 0 }, visNir)).toEqual({ maxRotation: 10, scaleTolerance: 0, structureWeight: 0 });
    expect(correlationSettings({ maxRotation: null, scaleTolerance: null, structureWeight: null }, target({ max_rotation: 90 })).maxRotation).toBe(90);
  });
});
