import { describe, expect, it } from 'vitest';
import { confidenceModel, correlationSettings, DEFAULT_CASCADE, DEFAULT_REFINE, DEFAULT_STRUCTURE_WEIGHT, POSE_DEFAULTS } from '../../src/services/search-settings.ts';
import type { ModalityWithModel } from '../../src/services/representation.service.ts';
import { CALIBRATED, confidences, DEFAULT_CONFIDENCE, marginAt } from '../../src/pipeline/rerank/confidence.ts';

/** A target modality whose CoMIR pair's manifest carries `search` (or no pair at all). */
const target = (search?: object): ModalityWithModel =>
  ({ id: 1, name: 'NIR', comirModel: search === undefined ? null : { manifest: { search } } }) as unknown as ModalityWithModel;
const unset = { maxRotation: null, scaleTolerance: null, structureWeight: null, refine: null };
/** The default cascade of a target without a calibrated pair: it stops at the default confidence threshold's margin. */
const defaultCascade = { ...DEFAULT_CASCADE, stopLead: marginAt(DEFAULT_CONFIDENCE.threshold, DEFAULT_CONFIDENCE) };

describe("correlation settings: the request, else the target pair's manifest, else one scale, +-30 degrees, no structure, no refinement", () => {
  it('falls back to the defaults without a model pair or without a search section', () => {
    expect(correlationSettings(unset, target())).toEqual({ maxRotation: 30, scaleTolerance: 0, structureWeight: 0, refine: 0, cascade: defaultCascade });
    expect(correlationSettings(unset, target({}))).toEqual({
      maxRotation: POSE_DEFAULTS.maxRotation,
      scaleTolerance: POSE_DEFAULTS.scaleTolerance,
      structureWeight: DEFAULT_STRUCTURE_WEIGHT,
      refine: DEFAULT_REFINE,
      cascade: defaultCascade,
    });
  });

  it("takes the manifest's defaults, and the request over both", () => {
    const visNir = target({ scale_tolerance: 0.1, structure_weight: 0.5, refine: 20 });
    expect(correlationSettings(unset, visNir)).toEqual({ maxRotation: 30, scaleTolerance: 0.1, structureWeight: 0.5, refine: 20, cascade: defaultCascade });
    expect(correlationSettings({ maxRotation: 10, scaleTolerance: 0, structureWeight: 0, refine: 0 }, visNir)).toEqual({ maxRotation: 10, scaleTolerance: 0, structureWeight: 0, refine: 0, cascade: defaultCascade });
    expect(correlationSettings(unset, target({ max_rotation: 90 })).maxRotation).toBe(90);
  });
});

describe('the cascade: the first stage\'s best 8 first, stopping at a lead the target would trust', () => {
  const pair = (name: string) => ({ id: 1, name: 'X', comirModel: { name, manifest: {} } }) as unknown as ModalityWithModel;
  it("stops at the lead whose confidence is the target pair's threshold", () => {
    for (const name of ['vis-nir', 'shg-bf']) {
      const { stopLead } = correlationSettings(unset, pair(name)).cascade!;
      // a top-1 leading by exactly the stop lead has the threshold's confidence; by less, less
      expect(confidences([0.5 + stopLead, 0.5], CALIBRATED[name])[0]).toBeCloseTo(CALIBRATED[name].threshold, 9);
      expect(confidences([0.5 + stopLead - 0.01, 0.5], CALIBRATED[name])[0]).toBeLessThan(CALIBRATED[name].threshold);
    }
    // vis-nir trusts a smaller lead than shg-bf (bench/results/confidence.md)
    expect(correlationSettings(unset, pair('vis-nir')).cascade!.stopLead).toBeCloseTo(0.082, 3);
    expect(correlationSettings(unset, pair('shg-bf')).cascade!.stopLead).toBeCloseTo(0.162, 3);
  });
  it('is off when the request names its topK: all K are re-ranked', () => {
    expect(correlationSettings({ ...unset, topK: 30 }, pair('vis-nir')).cascade).toBeNull();
    expect(correlationSettings({ ...unset, topK: null }, pair('vis-nir')).cascade).not.toBeNull();
  });
});

describe("confidence calibration: the target pair's manifest, else the shipped pair's, else the default", () => {
  const pair = (name: string, search?: object) => ({ id: 1, name: 'X', comirModel: { name, manifest: search ? { search } : {} } }) as unknown as ModalityWithModel;
  it('takes what the manifest declares first', () => {
    const own = { midpoint: 0.1, scale: 0.02, threshold: 0.95 };
    expect(confidenceModel(pair('vis-nir', { confidence: own }))).toEqual(own);
  });
  it('uses the shipped calibration of a known pair, and the default for anything else', () => {
    expect(confidenceModel(pair('vis-nir'))).toBe(CALIBRATED['vis-nir']);
    expect(confidenceModel(pair('shg-bf'))).toBe(CALIBRATED['shg-bf']);
    expect(confidenceModel(pair('my-own'))).toBe(DEFAULT_CONFIDENCE);
    expect(confidenceModel(target())).toBe(DEFAULT_CONFIDENCE);
  });
});
