/**
 * A pair set in the pairs.csv layout (../shared/data/README.md, training/README.md "Data"): one row per aligned pair,
 * a column per modality holding its file relative to the csv. The pair folder is `data/<pair>`, or `data` itself when
 * it holds pairs.csv.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface PairRows {
  /** The folder holding pairs.csv (the files are relative to it). */
  dir: string;
  /** Rows by id. */
  rows: Map<string, Record<string, string>>;
}

export async function readPairRows(data: string, pair: string): Promise<PairRows> {
  const dir = existsSync(path.join(data, 'pairs.csv')) ? data : path.join(data, pair);
  const lines = (await readFile(path.join(dir, 'pairs.csv'), 'utf8')).trim().split(/\r?\n/);
  const cols = lines[0].split(',');
  const rows = new Map(lines.slice(1).map((l) => {
    const r = Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]));
    return [r.id, r] as const;
  }));
  return { dir, rows };
}
