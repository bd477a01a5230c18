/**
 * Issue 19 from the command line: `cmir keys create|list|revoke` act on the home as its operator (no key), and the
 * first start of `cmir serve` on a home without keys prints an admin key, once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { type CliResult, runCli, startServe } from '../helpers/cli.ts';

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cmir-keys-'));
  // no shipped models (nothing to register, fast), the embedded database (cliEnv), and no CMIR_ANONYMOUS from outside
  env = { CMIR_MODELS_DIR: path.join(dir, 'no-models'), CMIR_ANONYMOUS: '' };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cmir = (home: string, ...args: string[]): Promise<CliResult> => runCli(args, { home, env });

/** Runs `cmir serve` until it says it serves, calls `during`, stops it (SIGTERM) and returns what it printed. */
async function serve(home: string, during: (url: string) => Promise<void> = async () => {}): Promise<string> {
  const server = await startServe(home, { env, host: '127.0.0.1', timeoutMs: 90_000 });
  try {
    await during(`http://127.0.0.1:${server.port}/graphql`);
  } finally {
    await server.stop();
  }
  return server.output();
}

const KEY = /cmir_[A-Za-z0-9_-]{43}/;

test('the first start of a home without keys prints an admin key once; it works; later starts print none', { timeout: 240_000 }, async () => {
  const home = path.join(dir, 'first');
  const first = await serve(home);
  expect(first).toMatch(/no API keys in this home yet: created the admin key "admin"\. It is printed this once and never again/);
  const key = KEY.exec(first)![0];
  expect(first.match(new RegExp(KEY.source, 'g'))).toHaveLength(1);
  expect(first).toMatch(/anonymous requests: queries only/);

  // the key works (admin), and anonymous mutations do not
  let checked = false;
  const second = await serve(home, async (url) => {
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: 'mutation { createModality(input: { name: "FIRST" }) { name } }' }) });
    const anonymous = (await (await post({})).json()) as any;
    expect(anonymous.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const admin = (await (await post({ authorization: `Bearer ${key}` })).json()) as any;
    expect(admin).toEqual({ data: { createModality: { name: 'FIRST' } } });
    checked = true;
  });
  expect(checked).toBe(true);
  expect(second).not.toMatch(KEY);
  expect(second).not.toMatch(/no API keys/);

  const listed = JSON.parse((await cmir(home, 'keys', 'list', '--json')).stdout);
  expect(listed).toEqual([expect.objectContaining({ id: toGlobalId('ApiKey', 1), name: 'admin', role: 'admin', prefix: key.slice(0, 12), revoked: null })]);
  expect(listed[0].lastUsed).not.toBeNull();
});

test('cmir keys create prints the key once; list never shows secrets; revoke by name or API id', { timeout: 180_000 }, async () => {
  const home = path.join(dir, 'cli');
  const made = await cmir(home, 'keys', 'create', '--name', 'scanner', '--role', 'curator');
  expect(made.code).toBe(0);
  const key = made.stdout.trim();
  expect(key).toMatch(new RegExp(`^${KEY.source}$`));
  expect(made.stderr).toContain(`created key ${toGlobalId('ApiKey', 1)} "scanner" (curator); it is shown this once`);
  const other = JSON.parse((await cmir(home, 'keys', 'create', '--name', 'viewer', '--role', 'reader', '--json')).stdout);
  expect(other).toMatchObject({ id: toGlobalId('ApiKey', 2), name: 'viewer', role: 'reader', key: expect.stringMatching(KEY) });

  const bad = await cmir(home, 'keys', 'create', '--name', 'x', '--role', 'owner');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/BAD_USER_INPUT.*reader, curator, admin/);
  const dup = await cmir(home, 'keys', 'create', '--name', 'scanner', '--role', 'reader');
  expect(dup.stderr).toContain('CONFLICT');

  const table = await cmir(home, 'keys', 'list');
  expect(table.stdout.split('\n')[0]).toBe('id\tname\trole\tprefix\tcreated\tlast used\trevoked');
  expect(table.stdout).toContain('scanner\tcurator');
  const json = await cmir(home, 'keys', 'list', '--json');
  for (const out of [table.stdout, json.stdout]) {
    expect(out).not.toContain(key);
    expect(out).not.toContain(other.key);
    expect(out).not.toContain(key.slice(12));
  }
  expect(JSON.parse(json.stdout).map((k: any) => Object.keys(k).sort())).toEqual([0, 1].map(() => ['created', 'id', 'lastUsed', 'name', 'prefix', 'revoked', 'role']));

  const byName = await cmir(home, 'keys', 'revoke', 'scanner');
  expect(byName.stdout).toMatch(new RegExp(`^revoked key ${toGlobalId('ApiKey', 1)} "scanner" at \\d{4}-`));
  const byId = await cmir(home, 'keys', 'revoke', other.id);
  expect(byId.stdout).toMatch(new RegExp(`^revoked key ${other.id} "viewer"`));
  expect((await cmir(home, 'keys', 'revoke', 'nobody')).stderr).toContain('[NOT_FOUND]: ApiKey "nobody" does not exist');
  // an API id that names no key is shown as given (issue 23 item 4: never the row number)
  expect((await cmir(home, 'keys', 'revoke', toGlobalId('ApiKey', 99))).stderr).toContain(`[NOT_FOUND]: ApiKey "${toGlobalId('ApiKey', 99)}" does not exist`);
  const after = JSON.parse((await cmir(home, 'keys', 'list', '--json')).stdout);
  expect(after.map((k: any) => [k.name, typeof k.revoked])).toEqual([['scanner', 'string'], ['viewer', 'string']]);

  // the home has keys (revoked ones count): its first start prints none, and the revoked key is refused
  const out = await serve(home, async (url) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query: '{ modalities { name } }' }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
  expect(out).not.toMatch(KEY);
});
