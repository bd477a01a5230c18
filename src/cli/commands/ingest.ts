import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DuplicateImageError, isAppError } from '../../errors.ts';
import { toGlobalId } from '../../ids.ts';
import { withApp } from '../app.ts';

const IMAGE_EXTENSIONS = new Set(['.tif', '.tiff', '.png', '.jpg', '.jpeg']);

/**
 * Expands folders (recursively, image extensions only, sorted) and keeps files as given. A FIFO, socket or device
 * with an image extension is kept too, so that ingestFile reports it as failed (it is never opened: issue 19);
 * links inside a folder are not followed.
 */
export async function expandPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (s?.isDirectory()) {
      const entries = await readdir(p, { recursive: true, withFileTypes: true });
      out.push(
        ...entries
          .filter((e) => (e.isFile() || isSpecial(e)) && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
          .map((e) => path.join(e.parentPath, e.name))
          .sort(),
      );
    } else {
      out.push(p);
    }
  }
  return out;
}

const isSpecial = (e: Dirent) => e.isFIFO() || e.isSocket() || e.isCharacterDevice() || e.isBlockDevice();

type Outcome =
  | { file: string; status: 'ingested'; id: string; name: string; width: number; height: number; tiles?: number }
  | { file: string; status: 'duplicate'; id: string }
  | { file: string; status: 'failed'; code: string; message: string };

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('ingest image files or folders of them (TIFF, PNG, JPEG)')
    .argument('<paths...>', 'files or folders')
    .requiredOption('--modality <name>', 'modality of the images, e.g. SHG or BF')
    .option('--slide <name>', 'slide they belong to (created if new)')
    .option('--page <n>', 'page of multi-page TIFFs', '0')
    .option('--nodata <value>', 'the value (0-1 of full scale) the files hold where they have no data, e.g. 0 for a warp\'s black fill: correlate ignores it')
    .option('--microns-per-pixel <um>', 'pixel size, for whole-slide images whose files do not say it (or to check what they say)')
    .option('--json', 'print a JSON array instead of one line per image')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (paths: string[], opts: { modality: string; slide?: string; page: string; nodata?: string; micronsPerPixel?: string; json?: boolean; home?: string }) => {
      const files = await expandPaths(paths);
      // Each outcome is printed as soon as its file is done (the lines are the progress), so an interrupted ingest
      // still shows what was stored. --json streams the array's elements the same way; complete, it is one JSON array.
      const report = opts.json ? jsonArrayReport() : lineReport;
      let failed = false;
      let complete = false;
      try {
        await withApp(opts, async (app) => {
          for (const file of files) {
            let outcome: Outcome;
            try {
              // a tiled pyramidal TIFF is a whole-slide image: stored as it is, then tiled by a job this command waits for
              const { image, tilingJob } = await app.services.images.ingestFile(file, {
                modality: opts.modality,
                slide: opts.slide,
                page: Number(opts.page),
                noDataValue: opts.nodata === undefined ? null : Number(opts.nodata),
                micronsPerPixel: opts.micronsPerPixel === undefined ? null : Number(opts.micronsPerPixel),
              });
              if (tilingJob !== null) {
                const job = await app.services.jobs.wait(tilingJob);
                if (job.state !== 'SUCCEEDED') throw new TilingFailed(job.error ?? 'tiling failed');
                const r = job.result as { tiles: number; windows: number };
                outcome = { file, status: 'ingested', id: toGlobalId('Image', image.id), name: image.name, width: image.width, height: image.height, tiles: r.tiles };
              } else {
                outcome = { file, status: 'ingested', id: toGlobalId('Image', image.id), name: image.name, width: image.width, height: image.height };
              }
            } catch (e) {
              if (e instanceof TilingFailed) outcome = { file, status: 'failed', code: 'TILING_FAILED', message: e.message };
              else if (e instanceof DuplicateImageError) outcome = { file, status: 'duplicate', id: toGlobalId('Image', e.existingId) };
              else if (isAppError(e)) outcome = { file, status: 'failed', code: e.code, message: e.message };
              else if ((e as NodeJS.ErrnoException).code === 'ENOENT') outcome = { file, status: 'failed', code: 'BAD_USER_INPUT', message: 'no such file' };
              else throw e;
            }
            failed ||= outcome.status === 'failed';
            report.add(outcome);
          }
        });
        complete = true;
      } finally {
        report.close(complete);
      }
      if (failed) process.exitCode = 1;
    });
}

/** A whole-slide image was stored but its tiling job failed (its row stays, FAILED, with the reason). */
class TilingFailed extends Error {}

interface Report {
  add(o: Outcome): void;
  /** After the last file (complete), or on an unexpected error. */
  close(complete: boolean): void;
}

const lineReport: Report = {
  add(o) {
    if (o.status === 'ingested') console.log(`${o.file}: ingested ${o.id} ${o.name} ${o.width}x${o.height}${o.tiles !== undefined ? `, whole slide: ${o.tiles} tissue tiles` : ''}`);
    else if (o.status === 'duplicate') console.log(`${o.file}: skipped, already stored as ${o.id}`);
    else console.error(ingestErrorLine(o.file, o.code, o.message));
  },
  close() {},
};

/**
 * The outcomes as one JSON array, written element by element (formatted as JSON.stringify(array, null, 2)); after an
 * unexpected error the array of what was done is closed, so what was printed stays valid JSON.
 */
function jsonArrayReport(): Report {
  let count = 0;
  return {
    add(o) {
      process.stdout.write(`${count++ === 0 ? '[\n' : ',\n'}${JSON.stringify(o, null, 2).replace(/^/gm, '  ')}`);
    },
    close(complete) {
      if (count > 0) process.stdout.write('\n]\n');
      else if (complete) process.stdout.write('[]\n');
    },
  };
}

/** One file's error line: the file first, unless the message already names it (a FIFO, a folder: image.service.ts). */
export function ingestErrorLine(file: string, code: string, message: string): string {
  const named = message.includes(file) || message.includes(path.resolve(file));
  return `error [${code}]: ${named ? '' : `${file}: `}${message}`;
}
