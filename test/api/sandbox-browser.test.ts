/**
 * The GraphiQL sandbox in a real browser (docs/adr/0018): Debian's Chromium driven by playwright-core, every host but
 * localhost unresolvable (offline), against a server that answers nothing without a key. Skipped, with the reason,
 * where no Chromium is installed (`apt-get install -y chromium`; CMIR_CHROMIUM names another binary).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SANDBOX_DIR } from '../../src/server/browser.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { makeImage } from '../helpers/images.ts';

const executable = process.env.CMIR_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(executable) ? undefined : `no browser at ${executable} (apt-get install -y chromium, or set CMIR_CHROMIUM)`;
if (skip) console.warn(`[sandbox-browser] SKIPPED: ${skip}`);

/** How many images the page must report: generated here, so the number can only come from this server's database. */
const IMAGES = 3;

describe.skipIf(skip !== undefined)(`GraphiQL sandbox in Chromium${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let app: TestApp;
  let server: RunningServer;
  let browser: Browser;
  let key = '';

  beforeAll(async () => {
    if (!existsSync(path.join(SANDBOX_DIR, 'index.html'))) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-graphiql.js')], { stdio: 'inherit' });
    app = await createTestApp({ anonymous: 'none' });
    for (let seed = 1; seed <= IMAGES; seed++) {
      await app.services.images.ingest({ data: await makeImage({ seed }), fileName: `img${seed}.png`, modality: 'SHG' });
    }
    key = await createKey(app, 'reader');
    server = await startServer(app, 0, '127.0.0.1');
    browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await app?.close();
  });

  test('renders offline, runs a query with the key from the header editor, and shows the schema', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const origin = `http://localhost:${server.port}`;
    const elsewhere: string[] = [];
    const failures: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`)) elsewhere.push(r.url());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));

    await page.goto(`${origin}/graphql`); // a browser opening the endpoint lands on the sandbox
    expect(new URL(page.url()).pathname).toBe('/graphiql/');
    await page.waitForSelector('.graphiql-container .monaco-editor', { timeout: 30_000 });
    const result = page.locator('.result-window');

    // without a key this server answers nothing
    await page.click('.graphiql-execute-button');
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toContain('UNAUTHENTICATED');

    // the key typed into GraphiQL's header editor
    await page.getByText('Headers', { exact: true }).click();
    await page.locator('.graphiql-editor-tool .graphiql-editor').last().click();
    await page.keyboard.type(`{"Authorization": "Bearer ${key}"`);
    await page.click('.graphiql-execute-button');
    await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ''), { timeout: 15_000 }).toContain(`"totalCount":${IMAGES}`);

    // the schema, from the server's SDL with the same key (introspection is off): the docs list the root types
    await page.getByRole('button', { name: /re-fetch/i }).click();
    await page.getByRole('button', { name: /documentation explorer/i }).click();
    await expect.poll(() => page.locator('.graphiql-doc-explorer').innerText(), { timeout: 15_000 }).toMatch(/query:\s*Query[\s\S]*mutation:\s*Mutation/);
    await page.screenshot({ path: path.join(app.home, 'graphiql.png') });

    expect(elsewhere).toEqual([]);
    // the only failures are the two refused before the key: the schema (on load) and the first query
    expect(failures.sort()).toEqual(['401 /graphiql/schema.graphql', '401 /graphql']);
  });
});
