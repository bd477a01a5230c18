import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type CliResult, runCli, spawnCli } from '../helpers/cli.ts';
import { corrupt, makeImage } from '../helpers/images.ts';

const run = promisify(execFile);
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
const cmir = (...args: string[]): Promise<CliResult> => runCli(args, { home: path.join(dir, 'home') });

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

test('ingest prints each file as soon as it is stored, reports a FIFO without blocking on it; killed mid-run, the lines name the stored rows', { timeout: 180_000 }, async () => {
  const folder = path.join(dir, 'stream');
  await mkdir(folder);
  const files = [1, 2, 3].map((i) => path.join(folder, `s${i}.png`));
  for (const [i, f] of files.entries()) await writeFile(f, await makeImage({ seed: 40 + i }));
  // A named pipe nobody writes to: reading it would block forever; it is refused unopened (issue 19) and the command
  // goes on to the files after it, which keep it busy while the test kills it.
  const pipe = path.join(folder, 'pipe.png');
  await run('mkfifo', [pipe]);
  const tail = Array.from({ length: 100 }, (_, i) => path.join(folder, `t${i}.png`));
  for (const [i, f] of tail.entries()) await writeFile(f, await makeImage({ seed: 100 + i }));
  const home = path.join(dir, 'home-stream');
  const env = { CMIR_MODELS_DIR: path.join(dir, 'no-models') }; // a raw modality: no CoMIR, fast
  const child = spawnCli(['ingest', ...files, pipe, ...tail, '--modality', 'STREAM'], { home, env });
  let stdout = '';
  let stderr = '';
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 120_000);
      const check = () => {
        if (stderr.includes('FIFO') && stdout.split('\n').filter(Boolean).length >= files.length) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        check();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        check();
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(child.exitCode).toBeNull(); // still running: past the pipe, on the files after it
    expect(stdout.split('\n').filter(Boolean).slice(0, files.length)).toEqual(files.map((f, i) => expect.stringMatching(new RegExp(`^${f}: ingested (\\S+) s${i + 1} 64x48$`))));
    // the file named once (the message names it)
    expect(stderr).toContain(`error [BAD_USER_INPUT]: ${path.resolve(pipe)} is a FIFO (named pipe), not a regular file`);
    expect(stderr.split(path.resolve(pipe)).length - 1).toBe(1);
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
  // the killed ingest stored what it printed, in order, plus at most the one row it was killed before printing
  const printed = stdout.split('\n').filter((l) => / ingested /.test(l)).map((l) => /ingested (\S+)/.exec(l)![1]);
  const listed = await runCli(['images', '--json'], { home, env });
  expect(listed.code).toBe(0);
  const ids = JSON.parse(listed.stdout).map((i: { id: string }) => i.id);
  expect(ids.slice(0, printed.length)).toEqual(printed);
  expect(ids.length - printed.length).toBeLessThanOrEqual(1);
});
