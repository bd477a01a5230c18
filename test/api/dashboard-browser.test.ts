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

/** The fraction of an OpenSeadragon viewer's canvas pixels that are drawn (not the background): tiles arrived. */
function canvasInk(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).locator('canvas').first().evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
    return drawn / (data.length / 4);
  });
}

describe.skipIf(skip !== undefined)(`dashboard in Chromium${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let app: TestApp;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let origin = '';
  let stopped = false;
  let curatorKey = '';
  let acquisition: Buffer;
  let expectedTarget = '';
  const problems: string[] = [];
  const elsewhere: string[] = [];
  /** Every answer of 400 or more the page received. */
  const failures: string[] = [];

  beforeAll(async () => {
    // `npm install` builds the dashboard (postinstall); a checkout that skipped it builds it here
    if (!existsSync(path.join(APP_DIR, 'index.html'))) execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-app.js')], { stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    app = await createTestApp();
    for (let i = 0; i < SLIDES; i++) {
      const image = await app.services.images.ingest({ data: await greyPng(texturedImage(256, 256, 400 + i)), fileName: `bf-${i}.png`, modality: 'BF', slide: `slide-${i}` });
      if (400 + i === SOURCE.seed) expectedTarget = toGlobalId('Image', image.id);
      // slide metadata for the grid's key = value filters: a string and a number
      await app.services.slides.updateMetadata(image.slideId!, { stain: i % 2 ? 'PSR' : 'HE', batch: i });
    }
    acquisition = await greyPng(crop(texturedImage(256, 256, SOURCE.seed), SOURCE.x, SOURCE.y, SOURCE.size, SOURCE.size));
    // the SHG modality exists (a query's modality must), with one other acquisition in it
    const other = await app.services.images.ingest({ data: await greyPng(texturedImage(96, 96, 999)), fileName: 'shg-other.png', modality: 'SHG' });
    // an older proposed link, first in the review queue: rotated 30 degrees onto bf-0
    const bf0 = (await app.services.images.list({ name: 'bf-0' }, { first: 1 })).edges[0].node;
    const [c, s] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
    await app.services.links.link({ sourceId: other.id, targetId: bf0.id, transform: [c, -s, 120, s, c, 60], score: 0.42, method: 'manual' }, { keyId: null, name: 'dr. earlier' });
    curatorKey = await createKey(app, 'curator', 'dr. review');
    server = await startServer(app, 0, '127.0.0.1');
    origin = `http://localhost:${server.port}`;
    browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      // a refused request is logged by Chromium as "Failed to load resource"; `failures` lists each one exactly
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    if (!stopped) await server?.stop();
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

  test("the grid's first query leaves before the bundle has arrived (app/first.js), and is the only one the grid sends", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await context.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      const events: string[] = [];
      p.on('request', (r) => {
        if (r.url().endsWith('/graphql') && r.postData()?.includes('query Images')) events.push('images query sent');
      });
      // the bundle held back 1.5 s: a query sent from the bundle could only leave after it
      await p.route('**/app/app.js', async (route) => {
        await new Promise((r) => setTimeout(r, 1500));
        events.push('bundle answered');
        await route.continue();
      });
      await p.goto(`${origin}/#/images`);
      await expect.poll(() => p.getByTestId('image-count').innerText(), { timeout: 15_000 }).toBe(`${SLIDES + 1} images`);
      await expect.poll(() => p.locator('.grid .card img').count()).toBe(SLIDES + 1);
      expect(events).toEqual(['images query sent', 'bundle answered']);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test('slides and images: slide metadata filters (key = value); slides listed, searchable, each opening in the viewer on its tiles', async () => {
    const names = () => page.locator('.grid .card strong').allInnerTexts();
    // a fresh page: the previous test left its filters in this one
    await page.goto(`${origin}/#/images`);
    await page.reload();
    await expect.poll(() => page.getByTestId('image-count').innerText(), { timeout: 15_000 }).toBe(`${SLIDES + 1} images`);
    const pair = page.getByLabel('Metadata filter', { exact: true });
    // not a pair: said next to the field, nothing filtered
    await pair.fill('stain PSR');
    await pair.press('Enter');
    await expect.poll(() => page.getByRole('status').innerText()).toMatch(/key = value/);
    expect(await names()).toHaveLength(SLIDES + 1);
    await pair.fill('stain = PSR');
    await pair.press('Enter');
    await expect.poll(names).toEqual(['bf-1', 'bf-3']);
    // a number typed as text matches the number stored; both pairs must hold
    await pair.fill('batch = 3');
    await pair.press('Enter');
    await expect.poll(names).toEqual(['bf-3']);
    await expect.poll(() => page.getByTestId('metadata-chip').allTextContents()).toEqual(['stain = PSR×', 'batch = 3×']);
    await shot('images-metadata-filter');
    await page.getByRole('button', { name: 'Remove batch = 3' }).click();
    await expect.poll(names).toEqual(['bf-1', 'bf-3']);

    // the Slides page keeps the filter: slides whose metadata has stain = PSR, each shown by its image
    await page.getByRole('link', { name: 'Slides', exact: true }).click();
    const cards = page.getByTestId('slide-card');
    await expect.poll(() => cards.locator('strong').allInnerTexts()).toEqual(['slide-1', 'slide-3']);
    await expect.poll(() => page.getByTestId('image-count').innerText()).toBe('2 slides');
    await expect.poll(() => cards.first().innerText()).toMatch(/1 image · shown: BF 256×256\n.*\bstain=PSR\b/);
    expect(await cards.first().innerText()).toMatch(/\bbatch=1\b/);
    await page.getByRole('button', { name: 'Remove stain = PSR' }).click();
    await expect.poll(() => page.getByTestId('image-count').innerText()).toBe(`${SLIDES} slides`);
    await expect.poll(() => cards.locator('img').evaluateAll((imgs) => imgs.length > 0 && imgs.every((i) => (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    await shot('slides');
    // searchable by name
    await page.getByLabel('Search by name').fill('SLIDE-2');
    await expect.poll(() => cards.locator('strong').allInnerTexts()).toEqual(['slide-2']);
    // "All 1 image": the Images list filtered by that slide
    await cards.first().getByRole('button', { name: /All 1 image/ }).click();
    await expect.poll(() => page.url()).toMatch(/#\/images$/);
    await expect.poll(names).toEqual(['bf-2']);
    await expect.poll(() => page.getByLabel('Slide').evaluate((s) => (s as HTMLSelectElement).selectedOptions[0].text)).toBe('slide-2');
    // a slide opens in the viewer on its deep-zoom tiles
    await page.getByRole('link', { name: 'Slides', exact: true }).click();
    await page.getByLabel('Search by name').fill('slide-2');
    await expect.poll(() => cards.locator('strong').allInnerTexts()).toEqual(['slide-2']);
    await cards.first().getByRole('link').click();
    await expect.poll(() => page.url()).toBe(`${origin}/#/viewer/${encodeURIComponent(expectedTarget)}`);
    await expect.poll(() => canvasInk(page, 'main-viewer'), { timeout: 15_000 }).toBeGreaterThan(0.1);
    expect(problems).toEqual([]);
  });

  test('search: a dropped non-image is refused; the acquisition finds its slide with the footprint; "Propose link" asks for a key and proposes', async () => {
    await page.goto(`${origin}/#/search`);
    const file = page.getByLabel('Query file');
    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/notes\.txt is not an image/);
    await file.setInputFiles({ name: 'shg-field.png', mimeType: 'image/png', buffer: acquisition });
    await page.getByLabel('Query modality').selectOption('SHG');
    await page.getByLabel('Target modality').selectOption('BF');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const matches = page.getByTestId('match');
    await expect.poll(() => matches.count(), { timeout: 45_000 }).toBe(SLIDES);
    expect(await matches.first().getAttribute('data-image')).toBe(expectedTarget);
    await expect.poll(() => matches.first().locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    // the footprint drawn on the candidate lies where the acquisition was cut from (in the image's pixels)
    const points = (await matches.first().locator('polygon.footprint').getAttribute('points'))!.split(' ').map((p) => p.split(',').map(Number));
    const cx = points.reduce((a, p) => a + p[0], 0) / points.length;
    const cy = points.reduce((a, p) => a + p[1], 0) / points.length;
    expect(Math.hypot(cx - (SOURCE.x + SOURCE.size / 2), cy - (SOURCE.y + SOURCE.size / 2))).toBeLessThan(12);
    await shot('search');

    await matches.first().getByRole('button', { name: 'Propose link' }).click();
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await expect.poll(() => dialog.innerText()).toMatch(/mutation needs an API key/);
    await dialog.locator('input').fill('cmir_not_a_key');
    await dialog.locator('input').press('Enter');
    await expect.poll(() => dialog.innerText()).toMatch(/The key was refused/);
    await dialog.locator('input').fill(curatorKey);
    await dialog.locator('input').press('Enter');
    await expect.poll(() => matches.first().innerText()).toMatch(/Proposed\. Review it/);
    // the two refusals: anonymous, then the wrong key; nothing else failed
    expect(failures).toEqual(['401 /graphql', '401 /graphql']);
    // the server has it: the uploaded acquisition ingested under its file name, linked by the curator's key
    const links = await app.services.links.list({ status: 'PROPOSED' }, { first: 10 });
    const made = links.edges.map((e) => e.node).find((l) => toGlobalId('Image', l.targetImageId!) === expectedTarget);
    expect(made).toMatchObject({ createdBy: 'dr. review', method: 'search:correlate' });
    expect((await app.services.images.get(made!.sourceId)).name).toBe('shg-field');
    expect(problems).toEqual([]);
  });

  test('review queue: r rejects the older link, an arrow moves on, c confirms ours; who and when shown after each', async () => {
    await page.goto(`${origin}/#/review`);
    const position = page.getByTestId('queue-position');
    await expect.poll(() => position.innerText(), { timeout: 15_000 }).toMatch(/^1 of 2/);
    await expect.poll(() => page.getByTestId('review-item').innerText()).toMatch(/shg-other/);
    await page.keyboard.press('r');
    await expect.poll(() => page.getByTestId('decided').innerText()).toMatch(/^Rejected by dr\. review/);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => position.innerText()).toMatch(/^2 of 2/);
    await expect.poll(() => page.getByTestId('review-item').innerText()).toMatch(/shg-field/);
    await expect.poll(() => page.getByTestId('review-item').locator('polygon.footprint').count()).toBe(1);
    // both pictures loaded: the acquisition's thumbnail and the matched image (not a grey box)
    await expect.poll(() => page.getByTestId('review-item').locator('img').evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length), { timeout: 10_000 }).toBe(2);
    await shot('review');
    await page.keyboard.press('c');
    await expect.poll(() => page.getByTestId('decided').innerText()).toMatch(/^Confirmed by dr\. review, /);
    await shot('review-decided');
    const counts = await app.services.links.counts();
    expect(counts).toMatchObject({ PROPOSED: 0, CONFIRMED: 1, REJECTED: 1 });
    expect(problems).toEqual([]);
  });

  test('viewer: the slide in OpenSeadragon with the confirmed footprint; a click opens the acquisition beside it, or blended over it', async () => {
    await page.goto(`${origin}/#/viewer/${encodeURIComponent(expectedTarget)}`);
    const viewer = page.getByTestId('main-viewer');
    const footprint = viewer.locator('polygon.footprint[data-status="CONFIRMED"]');
    await expect.poll(() => footprint.count(), { timeout: 15_000 }).toBe(1);
    // tiles really drew: the canvas is not blank where the image is
    await expect.poll(() => canvasInk(page, 'main-viewer'), { timeout: 15_000 }).toBeGreaterThan(0.1);
    const box = (await footprint.boundingBox())!;
    const frame = (await viewer.boundingBox())!;
    expect(box.width).toBeGreaterThan(20);
    expect(box.x).toBeGreaterThanOrEqual(frame.x);
    expect(box.x + box.width).toBeLessThanOrEqual(frame.x + frame.width);
    // click inside the footprint: the acquisition opens beside the slide
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('linked-viewer').count()).toBe(1);
    await expect.poll(() => canvasInk(page, 'linked-viewer'), { timeout: 15_000 }).toBeGreaterThan(0.1);
    await expect.poll(() => page.locator('.osd-label').allInnerTexts()).toEqual(['bf-2', 'shg-field (linked)']);
    // the selected link's thumbnail of the acquisition is shown (loaded, not a grey box)
    await expect.poll(() => page.locator('.thumb-box img').evaluate((i) => (i as HTMLImageElement).naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
    await shot('viewer-side-by-side');
    // blended: the acquisition warped by the link's transform, inside the slide's overlay
    await page.getByLabel('Blend over this image').check();
    const blended = viewer.locator('image.blended');
    await expect.poll(() => blended.count()).toBe(1);
    const t = (await app.services.links.list({ status: 'CONFIRMED' }, { first: 1 })).edges[0].node.transform as number[];
    expect(await blended.getAttribute('transform')).toBe(`matrix(${[t[0], t[3], t[1], t[4], t[2], t[5]].map((v) => +v.toFixed(6)).join(' ')})`);
    await expect.poll(() => page.getByTestId('linked-viewer').count()).toBe(0);
    await shot('viewer-blended');
    expect(problems).toEqual([]);
  });

  test('jobs: running and failed jobs with their progress, polled every 2 s', async () => {
    // job rows as a job of this server writes them (a live owner and heartbeat, so they are not taken for orphans)
    const now = new Date();
    const running = await app.db.prisma.job.create({
      data: { kind: 'index.rebuild', state: 'RUNNING', done: 3, total: 10, owner: app.services.jobs.owner, startedAt: now, heartbeatAt: now },
    });
    await app.db.prisma.job.create({
      data: { kind: 'vocabulary.build', state: 'FAILED', error: 'no descriptors: the modality has no images', startedAt: now, finishedAt: now, owner: app.services.jobs.owner },
    });
    await page.goto(`${origin}/#/jobs`);
    const active = page.getByTestId('active-jobs');
    await expect.poll(() => active.getByTestId('job-count').innerText(), { timeout: 15_000 }).toBe('3 / 10 (30 %)');
    await expect.poll(() => page.getByTestId('failed-jobs').innerText()).toMatch(/vocabulary\.build[\s\S]*no descriptors/);
    // progress moves on the server: the page shows it at its next poll
    await app.db.prisma.job.update({ where: { id: running.id }, data: { done: 7, heartbeatAt: new Date() } });
    await expect.poll(() => active.getByTestId('job-count').innerText(), { timeout: 5_000 }).toBe('7 / 10 (70 %)');
    await shot('jobs');
    expect(problems).toEqual([]);
  });

  test('bad input in the review: a revoked key opens the dialog with the reason, the server gone shows a banner and the decision is sent again when it answers; the typed comment survives both', async () => {
    const bf = (n: number) => app.services.images.list({ name: `bf-${n}` }, { first: 1 }).then((p) => p.edges[0].node);
    const shg = (await app.services.images.list({ name: 'shg-other' }, { first: 1 })).edges[0].node;
    const who = { keyId: null, name: 'dr. earlier' };
    const first = await app.services.links.link({ sourceId: shg.id, targetId: (await bf(3)).id, transform: [1, 0, 10, 0, 1, 10], score: 0.3, method: 'manual' }, who);
    const second = await app.services.links.link({ sourceId: shg.id, targetId: (await bf(4)).id, transform: [1, 0, 20, 0, 1, 20], score: 0.2, method: 'manual' }, who);
    // this tab holds a key that is revoked while the person types (an expired session, as they see it)
    const soonGone = await createKey(app, 'curator', 'dr. gone');
    await page.goto(`${origin}/#/review`);
    await page.evaluate((k) => sessionStorage.setItem('cmir.apiKey', k), soonGone);
    await page.reload();
    await expect.poll(() => page.getByTestId('queue-position').innerText(), { timeout: 15_000 }).toMatch(/^1 of 2/);
    const box = page.getByLabel('Review comment');
    const typed = 'Fibres line up with the\nstroma at the top left: right place.';
    await box.fill(typed);
    await app.services.keys.revoke('dr. gone', { keyId: null, name: 'admin' });
    await page.getByRole('button', { name: 'Confirm (c)' }).click();
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await expect.poll(() => dialog.innerText()).toMatch(/The key was refused \(expired or revoked\?\): API key "dr\. gone" was revoked/);
    expect(await box.inputValue()).toBe(typed);
    await shot('review-key-refused');
    await dialog.locator('input').fill(curatorKey);
    await dialog.locator('input').press('Enter');
    await expect.poll(() => page.getByTestId('decided').innerText()).toMatch(/^Confirmed by dr\. review, /);
    expect(await page.getByTestId('saved-comment').innerText()).toBe(`“${typed}”`);
    expect((await app.db.prisma.link.findUnique({ where: { id: first.id } }))?.comment).toBe(typed);
    expect(await box.inputValue()).toBe('');

    // the server gone (every request fails on the network) while the next comment is typed
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('queue-position').innerText()).toMatch(/^2 of 2/);
    const gone = (route: import('playwright-core').Route) => route.abort('connectionrefused');
    await page.route(/\/(graphql|healthz)$/, gone);
    await box.fill('Wrong slide: the fibres run the other way.');
    await page.getByRole('button', { name: 'Reject (r)' }).click();
    const banner = page.getByTestId('server-banner');
    await expect.poll(() => banner.innerText(), { timeout: 10_000 }).toMatch(/does not answer.*asking again every 2 s/);
    await expect.poll(() => page.getByTestId('review-item').getByRole('alert').innerText()).toMatch(/SERVER_UNREACHABLE[\s\S]*Not saved: reject and the comment are kept, and sent again when the server answers/);
    // a reload while it is gone would lose the page, not the comment: it is in this tab's storage
    expect(await page.evaluate((id) => sessionStorage.getItem(`cmir.review.comment.${id}`), toGlobalId('Link', second.id))).toBe('Wrong slide: the fibres run the other way.');
    await expect.poll(() => banner.innerText(), { timeout: 10_000 }).toMatch(/\([1-9]\d* tried\)/);
    await shot('review-server-gone');
    expect((await app.db.prisma.link.findUnique({ where: { id: second.id } }))?.status).toBe('PROPOSED');
    // back: the banner goes and the decision is sent again by itself, with the comment
    await page.unroute(/\/(graphql|healthz)$/, gone);
    await expect.poll(() => banner.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('decided').innerText(), { timeout: 10_000 }).toMatch(/^Rejected by dr\. review, /);
    const saved = await app.db.prisma.link.findUnique({ where: { id: second.id } });
    expect(saved).toMatchObject({ status: 'REJECTED', decidedBy: 'dr. review', comment: 'Wrong slide: the fibres run the other way.' });
    await shot('review-back');
    // the refusals were the revoked key's and the dropped connections', nothing else
    expect(problems).toEqual([]);
  });

  test('the server gone: a banner says so, asks again, and the page keeps what it showed', async () => {
    await page.goto(`${origin}/#/jobs`);
    await expect.poll(() => page.getByTestId('active-jobs').count(), { timeout: 15_000 }).toBe(1);
    await server.stop();
    stopped = true;
    await expect.poll(() => page.getByTestId('server-banner').innerText(), { timeout: 10_000 }).toMatch(/does not answer.*asking again every 2 s/);
    await expect.poll(() => page.locator('.error').innerText()).toMatch(/SERVER_UNREACHABLE.*does not answer/);
    expect(await page.getByTestId('active-jobs').count()).toBe(1);
    await shot('server-gone');
  });

  test('nothing was loaded from anywhere but this server, and no page logged an error', () => {
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('a server that answers nothing without a key: the dialog asks first; thumbnails and deep-zoom tiles then load with the key', async () => {
    const closedApp = await createTestApp({ anonymous: 'none' });
    const closed = await startServer(closedApp, 0, '127.0.0.1');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const image = await closedApp.services.images.ingest({ data: await greyPng(texturedImage(256, 256, 77)), fileName: 'locked.png', modality: 'BF', slide: 'locked-slide' });
      const reader = await createKey(closedApp, 'reader');
      const p = await context.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      const base = `http://localhost:${closed.port}`;
      await p.goto(`${base}/`);
      const dialog = p.getByRole('dialog', { name: 'API key' });
      await expect.poll(() => dialog.isVisible(), { timeout: 15_000 }).toBe(true);
      await dialog.locator('input').fill(reader);
      await dialog.locator('input').press('Enter');
      await expect.poll(() => p.getByTestId('image-count').innerText(), { timeout: 15_000 }).toBe('1 image');
      // the grid's thumbnail came inline in the (keyed) GraphQL answer
      await expect.poll(() => p.locator('.grid .card img').evaluate((i) => [(i as HTMLImageElement).src.slice(0, 5), (i as HTMLImageElement).naturalWidth])).toEqual(['data:', 256]);
      // a slide's cover is a thumbnail URL: fetched with the key, shown from a blob: URL
      await p.getByRole('link', { name: 'Slides', exact: true }).click();
      await expect.poll(() => p.getByTestId('slide-card').locator('img').evaluate((i) => [(i as HTMLImageElement).src.slice(0, 5), (i as HTMLImageElement).naturalWidth]), { timeout: 15_000 }).toEqual(['blob:', 256]);
      await p.goto(`${base}/#/viewer/${encodeURIComponent(toGlobalId('Image', image.id))}`);
      await expect.poll(() => canvasInk(p, 'main-viewer'), { timeout: 15_000 }).toBeGreaterThan(0.1);
      await p.screenshot({ path: path.join(SHOTS, 'viewer-with-key.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await closed.stop();
      await closedApp.close();
    }
  });
});
