import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { corrupt, makeImage } from '../helpers/images.ts';

const run = promisify(execFile);
const CMIR = path.join(import.meta.dirname, '..', '..', 'bin', 'cmir.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-cli-'));
  await writeFile(path.join(dir, 'a.png'), await makeImage({ seed: 1 }));
  await writeFile(path.join(dir, 'b.tif'), await makeImage({ seed: 2, format: 'tiff', bitDepth: 16 }));
  await writeFile(path.join(dir, 'c.jpg'), await makeImage({ seed: 3, format: 'jpeg', channels: 3 }));
  await writeFile(path.join(dir, 'corrupt.tif'), corrupt.garbage());
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the real CLI (as `npx cmir` would) on the embedded database in a temporary home. */
function cmir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cmirIn(path.join(dir, 'home'), {}, ...args);
}

async function cmirIn(home: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CMIR, ...args, '--home', home], {
      env: { ...process.env, DATABASE_URL: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('cmir ingest three images, list them, refuse a corrupt one', { timeout: 120_000 }, async () => {
  const ingest = await cmir('ingest', path.join(dir, 'a.png'), path.join(dir, 'b.tif'), path.join(dir, 'c.jpg'), '--modality', 'SHG', '--slide', 'S1', '--json');
  expect(ingest.code).toBe(0);
  const outcomes = JSON.parse(ingest.stdout);
  expect(outcomes.map((o: { status: string; name: string }) => [o.status, o.name])).toEqual([
    ['ingested', 'a'],
    ['ingested', 'b'],
    ['ingested', 'c'],
  ]);

  const listed = JSON.parse((await cmir('images', '--json')).stdout);
  expect(listed).toHaveLength(3);
  expect(listed.map((i: { name: string; modality: string }) => `${i.modality}/${i.name}`)).toEqual(['SHG/a', 'SHG/b', 'SHG/c']);
  // the shipped shg-bf model is registered on first start, so every SHG image got its CoMIR at ingest
  expect(listed.map((i: { comir: string | null }) => i.comir)).toEqual([expect.stringMatching(/^shg-bf@/), expect.stringMatching(/^shg-bf@/), expect.stringMatching(/^shg-bf@/)]);

  const bad = await cmir('ingest', path.join(dir, 'corrupt.tif'), '--modality', 'SHG');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('UNSUPPORTED_IMAGE');
  expect(JSON.parse((await cmir('images', '--json')).stdout)).toHaveLength(3);
});

test('ingest prints each file as soon as it is stored: killed while a later file hangs, the lines name the stored rows', { timeout: 180_000 }, async () => {
  const folder = path.join(dir, 'stream');
  await mkdir(folder);
  const files = [1, 2, 3].map((i) => path.join(folder, `s${i}.png`));
  for (const [i, f] of files.entries()) await writeFile(f, await makeImage({ seed: 40 + i }));
  // A named pipe nobody writes to: reading it blocks, so the command cannot finish while the test watches it.
  const hang = path.join(folder, 'hang.png');
  await run('mkfifo', [hang]);
  const home = path.join(dir, 'home-stream');
  const env = { CMIR_MODELS_DIR: path.join(dir, 'no-models') }; // a raw modality: no CoMIR, fast
  const child = spawn(process.execPath, [CMIR, 'ingest', ...files, hang, '--modality', 'STREAM', '--home', home], {
    env: { ...process.env, DATABASE_URL: '', ...env },
  });
  let stdout = '';
  try {
    const lines = await new Promise<string[]>((resolve) => {
      const done = () => resolve(stdout.split('\n').filter(Boolean));
      const timer = setTimeout(done, 120_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        if (stdout.split('\n').filter(Boolean).length >= files.length) {
          clearTimeout(timer);
          done();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        done();
      });
    });
    expect(child.exitCode).toBeNull(); // still running, blocked on the pipe
    expect(lines).toEqual(files.map((f, i) => expect.stringMatching(new RegExp(`^${f}: ingested (\\S+) s${i + 1} 64x48$`))));
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
  // the killed ingest stored exactly what it printed
  const printed = stdout.split('\n').filter(Boolean).map((l) => /ingested (\S+)/.exec(l)![1]);
  const listed = await cmirIn(home, env, 'images', '--json');
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.stdout).map((i: { id: string }) => i.id)).toEqual(printed);
});
