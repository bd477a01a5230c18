import type { Command } from 'commander';
import { invalidParameter } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { readUserFile } from '../../services/image.service.ts';
import { RERANK_MODES, type RerankMode } from '../../services/search-settings.ts';
import { withApp } from '../app.ts';

export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('find where an image came from: rank the target modality\'s images and locate the query in them')
    .argument('<file>', 'query image')
    .requiredOption('--modality <name>', 'modality of the query')
    .requiredOption('--target <name>', 'modality of the repository to search')
    .option('--top <k>', 'number of matches', '10')
    .option('--rerank <mode>', `${RERANK_MODES.join(', ')} (auto: correlate across modalities, verify within one)`, 'auto')
    .option('--rerank-top <k>', 'candidates to re-rank (default 30; 200 when correlating)')
    .option('--max-rotation <degrees>', "correlate: the largest rotation between query and image (default: the model pair's, else 30)")
    .option('--scale-tolerance <fraction>', "correlate: the largest relative scale difference (default: the model pair's, vis-nir 0.1; else 0)")
    .option('--structure-weight <w>', "correlate: weight (0-1) of the images' edges beside the CoMIR in the score (default: the model pair's, vis-nir 0.5; else 0)")
    .option('--refine <n>', "correlate: the best n candidates again at twice the resolution (default: the model pair's, vis-nir and shg-bf 20; else 0)")
    .option('--nodata <value>', 'the value (0-1 of full scale) the query holds where it has no data, e.g. 0 for a warp\'s black fill: correlate ignores it')
    .option('--microns-per-pixel <um>', "the query's pixel size: it is resampled to the model's working resolution (whole-slide images are tiled at it)")
    .option('--json', 'print JSON: { matches: [{ imageId, name, rank, score, region }], timings }')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (file: string, opts: { modality: string; target: string; top: string; rerank: string; rerankTop?: string; maxRotation?: string; scaleTolerance?: string; structureWeight?: string; refine?: string; nodata?: string; micronsPerPixel?: string; json?: boolean; home?: string }) => {
      if (!(RERANK_MODES as readonly string[]).includes(opts.rerank)) throw invalidParameter('--rerank', RERANK_MODES.join(', '), opts.rerank);
      const data = await readUserFile(file);
      await withApp(opts, async (app) => {
        const result = await app.services.search.search({
          data,
          modality: opts.modality,
          target: opts.target,
          first: Number(opts.top),
          noDataValue: opts.nodata === undefined ? null : Number(opts.nodata),
          micronsPerPixel: opts.micronsPerPixel === undefined ? null : Number(opts.micronsPerPixel),
          rerank: {
            mode: opts.rerank as RerankMode,
            topK: opts.rerankTop === undefined ? null : Number(opts.rerankTop),
            maxRotation: opts.maxRotation === undefined ? null : Number(opts.maxRotation),
            scaleTolerance: opts.scaleTolerance === undefined ? null : Number(opts.scaleTolerance),
            structureWeight: opts.structureWeight === undefined ? null : Number(opts.structureWeight),
            refine: opts.refine === undefined ? null : Number(opts.refine),
          },
        });
        const names = new Map((await app.services.images.getMany(result.matches.map((m) => m.imageId))).map((i) => [i.id, i.name]));
        const matches = result.matches.map((m) => ({
          imageId: toGlobalId('Image', m.imageId),
          name: names.get(m.imageId) ?? null,
          rank: m.rank,
          score: m.score,
          confidence: m.confidence,
          nWords: m.nWords,
          region: m.region,
          footprint: m.footprint,
          transform: m.transform,
        }));
        if (opts.json) {
          console.log(JSON.stringify({ matches, confidenceThreshold: result.confidenceThreshold, timings: result.timings }, null, 2));
          return;
        }
        if (matches.length === 0) console.log(`no matches among the ${opts.target} images`);
        else console.log(['rank', 'score', 'confidence', 'name', 'id', 'region'].join('\t'));
        for (const m of matches) {
          const r = m.region && { x: Math.round(m.region.x), y: Math.round(m.region.y), width: Math.round(m.region.width), height: Math.round(m.region.height) };
          const where = r ? `x=${r.x} y=${r.y} ${r.width}x${r.height}` : '-';
          // a top-1 below the calibrated threshold is flagged for review
          const sure = m.confidence >= result.confidenceThreshold ? 'sure' : 'review';
          console.log(`${m.rank}\t${m.score.toFixed(4)}\t${m.confidence.toFixed(2)} ${sure}\t${m.name}\t${m.imageId}\t${where}`);
        }
        console.log(`(${result.timings.total.toFixed(0)} ms)`);
      });
    });
}
