/**
 * The learned window describer (docs/adr/0015): the ONNX network a CoMIR model ships as `window_descriptor`
 * (training/train_window_descriptor.py), from a window's 32 x 32 samples, standardised, to a unit vector.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelInvalidError, type WindowDescriptorManifest } from '../comir/comir.ts';
import { embeddingDimensions, validMean, type WindowDescriber } from './embedding.ts';

/**
 * Windows per onnxruntime call: 512 x 32 x 32 floats are 2 MB in and out; a 1024 x 680 image has about 600 windows,
 * a query 224 (embedding.ts), so most calls are one batch.
 */
const BATCH = 512;

/**
 * A window whose samples vary by less than this is flat (the background CoMIR is a constant, training/README.md): one
 * 16-bit quantisation step of the stored CoMIR (services/representation.service.ts) is 1.5e-5.
 */
const FLAT = 1.5e-5;

/** Minus the mean, over the standard deviation + 1e-6 (as train_window_descriptor.py standardise); no data at 0. */
export function standardise(samples: Float32Array, out: Float32Array, offset: number): boolean {
  const { mean, n } = validMean(samples);
  let ss = 0;
  for (const v of samples) if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
  const sd = Math.sqrt(ss / n);
  if (!(sd >= FLAT)) return false;
  for (let k = 0; k < samples.length; k++) out[offset + k] = Number.isNaN(samples[k]) ? 0 : (samples[k] - mean) / (sd + 1e-6);
  return true;
}

export class LearnedDescriber implements WindowDescriber {
  readonly version: string;
  readonly grid: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly spec: WindowDescriptorManifest,
  ) {
    this.version = spec.version;
    this.grid = spec.input.grid;
  }

  /** Loads `spec.file` from a model folder whose manifest (and the file's sha256) loadComirModel has validated. */
  static async load(dir: string, spec: WindowDescriptorManifest, threads = 1): Promise<LearnedDescriber> {
    if (spec.output.dimensions !== embeddingDimensions()) {
      throw new ModelInvalidError(`model ${dir}: window_descriptor gives ${spec.output.dimensions} dimensions, the vector column holds ${embeddingDimensions()}`);
    }
    try {
      const session = await ort.InferenceSession.create(path.join(dir, spec.file), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
      });
      return new LearnedDescriber(session, spec);
    } catch (e) {
      throw new ModelInvalidError(`model ${dir}: onnxruntime cannot load ${spec.file}: ${(e as Error).message}`);
    }
  }

  async describe(samples: readonly Float32Array[]): Promise<(Float32Array | null)[]> {
    const g2 = this.grid * this.grid;
    const dims = this.spec.output.dimensions;
    const out: (Float32Array | null)[] = new Array(samples.length).fill(null);
    for (let start = 0; start < samples.length; start += BATCH) {
      const idx: number[] = [];
      const input = new Float32Array(Math.min(BATCH, samples.length - start) * g2);
      for (let i = start; i < Math.min(start + BATCH, samples.length); i++) {
        if (standardise(samples[i], input, idx.length * g2)) idx.push(i);
      }
      if (idx.length === 0) continue;
      const feeds = { [this.spec.input.name]: new ort.Tensor('float32', input.subarray(0, idx.length * g2), [idx.length, 1, this.grid, this.grid]) };
      const result = await this.session.run(feeds);
      const data = result[this.spec.output.name].data as Float32Array;
      idx.forEach((i, k) => {
        out[i] = data.slice(k * dims, (k + 1) * dims);
      });
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
