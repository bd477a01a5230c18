/**
 * Issue 23 item 5 from the command line: --version and --help without the app, `cmir modalities`, `cmir jobs`, headers
 * and a clear line for an empty list, --json, and DATABASE_LOCKED naming the server that holds the embedded database.
 * The CLI runs as users run it (bin/cmir.js: dist/ when compiled and current, else the sources).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApp } from '../../src/app.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { loadConfig } from '../../src/config.ts';
import { cliEnv, type CliResult, runCli, startServe } from '../helpers/cli.ts';
import { makeImage } from '../helpers/images.ts';

let dir: string;
// the embedded database (cliEnv); the shipped models (so SHG and BF exist with their CoMIR pair)
const env: NodeJS.ProcessEnv = { CMIR_ANONYMOUS: '', CMIR_KEY: '' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-cli-commands-'));
  for (const [name, seed] of [['s1', 1], ['s2', 2], ['b1', 3]] as const) await writeFile(path.join(dir, `${name}.png`), await makeImage({ seed, width: 96, height: 96 }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cmir = (home: string | null, ...args: string[]): Promise<CliResult> => runCli(args, { home, env });

test('--version prints package.json\'s version; --help lists every command with its summary, which is its own description', { timeout: 120_000 }, async () => {
  const pkg = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  const version = await cmir(null, '--version');
  expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });

  const help = await cmir(null, '--help');
  expect(help.code).toBe(0);
  const listed = [...help.stdout.matchAll(/^ {2}([a-z]+)(?: |$)/gm)].map((m) => m[1]);
  expect(listed).toEqual([...COMMANDS.map((c) => c.name), 'help']);

  // the summary --help shows is the description the command's own module gives it (loaded lazily, so kept twice)
  for (const c of COMMANDS) {
    const program = new Command('cmir');
    (await c.load())(program);
    expect([c.name, program.commands.find((x) => x.name() === c.name)?.description()]).toEqual([c.name, c.summary]);
  }
  // a subcommand's own help is the full one: its options
  const jobsHelp = await cmir(null, 'jobs', '--help');
  expect(jobsHelp.stdout).toContain('--state <states>');
  expect(jobsHelp.stdout).toContain('--json');
});

test('on an empty home: images says so, modalities lists the shipped pairs\' with no images, jobs says none', { timeout: 180_000 }, async () => {
  const home = path.join(dir, 'empty');
  const images = await cmir(home, 'images');
  expect(images).toMatchObject({ code: 0, stdout: 'no images yet: `cmir ingest FILES --modality NAME` stores some\n' });
  expect(JSON.parse((await cmir(home, 'images', '--json')).stdout)).toEqual([]);
  expect((await cmir(home, 'images', '--modality', 'SHG')).stdout).toBe('no images of modality SHG\n');

  const modalities = JSON.parse((await cmir(home, 'modalities', '--json')).stdout);
  expect(modalities.map((m: any) => [m.name, m.imageCount, m.comirModel])).toEqual([
    ['BF', 0, 'shg-bf'],
    ['NIR', 0, 'vis-nir'],
    ['RGB', 0, 'vis-nir'],
    ['SHG', 0, 'shg-bf'],
  ]);
  expect((await cmir(home, 'jobs')).stdout).toBe('no jobs in state QUEUED, RUNNING, FAILED (--all lists every job)\n');
  expect(JSON.parse((await cmir(home, 'jobs', '--all', '--json')).stdout)).toEqual([]);
});

test('modalities counts the ingested images; images prints a header and one line per image', { timeout: 180_000 }, async () => {
  const home = path.join(dir, 'counts');
  expect((await cmir(home, 'ingest', path.join(dir, 's1.png'), path.join(dir, 's2.png'), '--modality', 'SHG')).code).toBe(0);
  expect((await cmir(home, 'ingest', path.join(dir, 'b1.png'), '--modality', 'bf')).code).toBe(0);

  const table = (await cmir(home, 'modalities')).stdout.trim().split('\n');
  expect(table[0]).toBe('name\timages\tchannels\tnormalization\tCoMIR model\tid');
  expect(table.slice(1).map((l) => l.split('\t').slice(0, 5))).toEqual([
    ['BF', '1', '1', 'linear', 'shg-bf'],
    ['NIR', '0', '1', 'linear', 'vis-nir'],
    ['RGB', '0', '3', 'linear', 'vis-nir'],
    ['SHG', '2', '1', 'log1p', 'shg-bf'],
  ]);
  const json = JSON.parse((await cmir(home, 'modalities', '--json')).stdout);
  expect(Object.fromEntries(json.map((m: any) => [m.name, m.imageCount]))).toEqual({ BF: 1, NIR: 0, RGB: 0, SHG: 2 });

  const images = (await cmir(home, 'images')).stdout.trim().split('\n');
  expect(images[0]).toBe('id\tmodality\tname\tsize\tformat');
  expect(images.slice(1).map((l) => l.split('\t').slice(1))).toEqual([
    ['SHG', 's1', '96x96x1', '8-bit png'],
    ['SHG', 's2', '96x96x1', '8-bit png'],
    ['BF', 'b1', '96x96x1', '8-bit png'],
  ]);
  // search prints a header, then one line per match; a query file that is not there is a clear error
  const search = (await cmir(home, 'search', path.join(dir, 's1.png'), '--modality', 'SHG', '--target', 'BF')).stdout.trim().split('\n');
  expect(search[0]).toBe('rank\tscore\tconfidence\tname\tid\tregion');
  expect(search[1]).toMatch(/^1\t\d\.\d{4}\t\d\.\d{2} (sure|review)\tb1\t\S+\tx=\d+ y=\d+ \d+x\d+$/);
  expect(search.at(-1)).toMatch(/^\(\d+ ms\)$/);
  const missing = await cmir(home, 'search', path.join(dir, 'nothing.png'), '--modality', 'SHG', '--target', 'BF');
  expect(missing.stderr).toBe(`error [BAD_USER_INPUT]: cannot read ${path.join(dir, 'nothing.png')}: ENOENT\n`);

  // the same ids in both forms, and only API ids
  const ids = JSON.parse((await cmir(home, 'images', '--json')).stdout).map((i: any) => i.id);
  expect(images.slice(1).map((l) => l.split('\t')[0])).toEqual(ids);
  expect(ids.every((id: string) => !/^\d+$/.test(id))).toBe(true);
});

test('jobs lists failed jobs with their progress and error (all of them with --all, by --state and --kind), newest first', { timeout: 180_000 }, async () => {
  const home = path.join(dir, 'jobs');
  // two finished jobs made through the JobService on the home, then closed so the CLI can open it
  const app = await createApp(loadConfig({ home }, cliEnv({ ...env, CMIR_MODELS_DIR: path.join(dir, 'no-models') })));
  try {
    const failed = await app.services.jobs.start('index.rebuild', {}, async (p) => {
      p.report(3, 10);
      throw new Error('the third of ten went wrong');
    });
    await app.services.jobs.wait(failed.id);
    const ok = await app.services.jobs.start('vocabulary.build', {}, async (p) => {
      p.report(5, 5);
      return { stored: 5 };
    });
    await app.services.jobs.wait(ok.id);
  } finally {
    await app.close();
  }

  const table = (await cmir(home, 'jobs')).stdout.trim().split('\n');
  expect(table[0]).toBe('id\tkind\tstate\tprogress\tstarted\tfinished\terror');
  expect(table).toHaveLength(2);
  const [id, kind, state, progress, started, finished, error] = table[1].split('\t');
  expect([kind, state, progress, error]).toEqual(['index.rebuild', 'FAILED', '3/10 (30%)', 'the third of ten went wrong']);
  expect(id).toMatch(/^[A-Za-z0-9]+$/);
  expect(Date.parse(finished)).toBeGreaterThanOrEqual(Date.parse(started));

  const all = JSON.parse((await cmir(home, 'jobs', '--all', '--json')).stdout);
  expect(all.map((j: any) => [j.kind, j.state, j.done, j.total, j.progress])).toEqual([
    ['vocabulary.build', 'SUCCEEDED', 5, 5, 1],
    ['index.rebuild', 'FAILED', 3, 10, 0.3],
  ]);
  expect(all[0].id).not.toBe(all[1].id);
  expect(JSON.parse((await cmir(home, 'jobs', '--state', 'succeeded', '--json')).stdout).map((j: any) => j.kind)).toEqual(['vocabulary.build']);
  expect(JSON.parse((await cmir(home, 'jobs', '--all', '--kind', 'index.rebuild', '--json')).stdout).map((j: any) => j.state)).toEqual(['FAILED']);
  const bad = await cmir(home, 'jobs', '--state', 'DONE');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/error \[BAD_USER_INPUT\]: Expected a comma-separated list of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED for --state but received "DONE"/);
});

test('while cmir serve holds the embedded database, a command is told which server holds it and what to do; with CMIR_KEY, reindex runs through it', { timeout: 300_000 }, async () => {
  const home = path.join(dir, 'locked');
  const made = JSON.parse((await cmir(home, 'keys', 'create', '--name', 'ops', '--role', 'admin', '--json')).stdout) as { key: string };
  let remoteJob = '';
  const server = await startServe(home, { env: { ...env, CMIR_MODELS_DIR: path.join(dir, 'no-models') }, timeoutMs: 120_000 });
  const { child, port } = server;
  try {
    const refused = await cmir(home, 'vocabulary', 'build', '--modality', 'SHG');
    expect(refused.code).not.toBe(0);
    const url = `http://localhost:${port}/graphql`;
    expect(refused.stderr).toContain(`error [DATABASE_LOCKED]: the embedded database in ${home} is in use by \`cmir serve\` (process ${child.pid}, serving ${url})`);
    expect(refused.stderr).toContain(`\`kill ${child.pid}\``);
    expect(refused.stderr).toContain(`through the server's GraphQL API at ${url} with an API key`);
    expect(refused.stderr).toContain('DATABASE_URL');
    expect(refused.stderr).toContain('set CMIR_KEY to an API key of it');
    // a command that reads only is told the same (it cannot open the database either)
    expect((await cmir(home, 'jobs')).stderr).toContain(`error [DATABASE_LOCKED]: the embedded database in ${home} is in use by \`cmir serve\` (process ${child.pid}`);

    const viaServer = await runCli(['reindex', '--json'], { home, env: { ...env, CMIR_KEY: made.key } });
    expect(viaServer.code, viaServer.stderr).toBe(0);
    const job = JSON.parse(viaServer.stdout);
    expect(job).toMatchObject({ state: 'SUCCEEDED', job: expect.stringMatching(/^[A-Za-z0-9]+$/) });
    remoteJob = job.job;
    const badKey = await runCli(['reindex'], { home, env: { ...env, CMIR_KEY: 'cmir_not-a-key' } });
    expect(badKey.stderr).toContain(`error [UNAUTHENTICATED]: ${url}: `);
  } finally {
    await server.stop();
  }
  // stopped, the server's record is gone and the home opens again
  expect(existsSync(path.join(home, 'server.json'))).toBe(false);
  // the job made through the server is the home's
  expect(JSON.parse((await cmir(home, 'jobs', '--all', '--json')).stdout).map((j: any) => [j.id, j.kind, j.state])).toEqual([[remoteJob, 'index.rebuild', 'SUCCEEDED']]);
});
