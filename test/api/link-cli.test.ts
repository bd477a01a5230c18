/**
 * `cmir link list [--status S] [--json]` (issue 23 item 1) over a home whose links the test made, and the API ids the
 * link commands print, also in their errors (item 4).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { toGlobalId } from '../../src/ids.ts';
import { cliActor } from '../../src/services/auth.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { makeImage } from '../helpers/images.ts';

let home: string;
/** The links made, as [id, source name, target name, status]. */
const made: [string, string, string, string][] = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'cmir-link-cli-'));
  // modalities without a CoMIR model: ingestion stays fast
  const app = await createApp({ ...loadConfig({ home }, {}), databaseUrl: undefined, modelsDir: path.join(home, 'no-models') });
  try {
    const ingest = async (name: string, modality: string, seed: number) =>
      app.services.images.ingest({ data: await makeImage({ seed }), fileName: `${name}.png`, modality });
    const [s1, s2, t] = [await ingest('src-1', 'XA', 1), await ingest('src-2', 'XA', 2), await ingest('tgt', 'XB', 3)];
    // two images sharing a name: `link add` by that name must ask for an id
    await app.services.images.ingest({ data: await makeImage({ seed: 4 }), fileName: 'a/twin.png', modality: 'XA', name: 'twin' });
    await app.services.images.ingest({ data: await makeImage({ seed: 5 }), fileName: 'b/twin.png', modality: 'XA', name: 'twin' });
    for (const [source, region, status] of [[s1, null, 'PROPOSED'], [s2, { x: 1, y: 1, width: 9, height: 9 }, 'CONFIRMED'], [s2, null, 'PROPOSED']] as const) {
      let link = await app.services.links.link({ sourceId: source.id, targetId: t.id, region }, cliActor());
      if (status !== 'PROPOSED') link = await app.services.links.setStatus(link.id, status, cliActor());
      made.push([toGlobalId('Link', link.id), source.name, t.name, link.status]);
    }
  } finally {
    await app.close();
  }
}, 120_000);
afterAll(() => rm(home, { recursive: true, force: true }));

// on the embedded database (runCli); no shipped models to register at each start: faster
const cmir = (...args: string[]): Promise<CliResult> => runCli(args, { home, env: { CMIR_MODELS_DIR: path.join(home, 'no-models') } });

test('cmir link list: a header and one line per link; --status proposed --json: the PROPOSED ones with names', { timeout: 120_000 }, async () => {
  const all = await cmir('link', 'list');
  expect(all.code).toBe(0);
  const lines = all.stdout.trim().split('\n');
  expect(lines[0].split('\t')).toEqual(['id', 'status', 'source', 'target', 'score', 'created']);
  expect(lines.slice(1).map((l) => l.split('\t')[0] + ' ' + l.split('\t')[1])).toEqual(made.map(([id, , , status]) => `${id} ${status}`));
  expect(lines[1]).toContain('(src-1)');

  const proposed = await cmir('link', 'list', '--status', 'proposed', '--json');
  expect(proposed.code).toBe(0);
  const rows = JSON.parse(proposed.stdout) as { id: string; status: string; sourceName: string; targetName: string }[];
  expect(rows.map((r) => [r.id, r.sourceName, r.targetName, r.status])).toEqual(made.filter((m) => m[3] === 'PROPOSED'));

  const bad = await cmir('link', 'list', '--status', 'maybe');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('BAD_USER_INPUT');
  expect(bad.stderr).toContain('PROPOSED, CONFIRMED, REJECTED');
});

test('cmir link confirm with an id that names no link: the error names that id (issue 23 item 4)', { timeout: 60_000 }, async () => {
  const given = toGlobalId('Link', 99);
  const res = await cmir('link', 'confirm', given);
  expect(res.code).not.toBe(0);
  expect(res.stderr.trim()).toBe(`error [NOT_FOUND]: Link "${given}" does not exist`);
});

test('cmir link add takes image names where one image has the name, and asks for an id where several do (issue 23 item 5)', { timeout: 180_000 }, async () => {
  const added = await cmir('link', 'add', 'src-1', 'tgt', '--region', '2,2,5,5', '--json');
  expect(added.code, added.stderr).toBe(0);
  const link = JSON.parse(added.stdout) as { id: string; source: string; target: string; region: unknown };
  const list = JSON.parse((await cmir('link', 'list', '--json')).stdout) as { id: string; sourceName: string; targetName: string }[];
  expect(list.find((l) => l.id === link.id)).toMatchObject({ sourceName: 'src-1', targetName: 'tgt' });

  const twin = await cmir('link', 'add', 'twin', 'tgt');
  expect(twin.code).not.toBe(0);
  expect(twin.stderr).toMatch(/error \[BAD_USER_INPUT\]: "twin" names 2 images \([A-Za-z0-9]+, [A-Za-z0-9]+\): give one of their ids/);
  const none = await cmir('link', 'add', 'nobody', 'tgt');
  expect(none.stderr.trim()).toBe('error [NOT_FOUND]: Image "nobody" does not exist');
});
