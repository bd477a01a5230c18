/**
 * Issue 23 item 1: the review and dashboard queries. `links(filter, first, after)` and its totalCount, link counts per
 * status (global and per slide), idempotent linking per (source, target, region), regions clipped to the target, and
 * `jobs(filter, first, after)`; asserted against what the test generated.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { polygonArea } from '../../src/pipeline/rerank/geometry.ts';
import { createTestApp, TEST_BACKEND, type TestApp } from '../helpers/app.ts';
import { createTestApi, type TestApi } from '../helpers/graphql.ts';
import { makeImage, makeMultiPageTiff } from '../helpers/images.ts';

let app: TestApp;
/** Mutations need a key (docs/adr/0014): these tests run as a fresh admin key. */
let api: TestApi;

/** Images by name: SHG a0-a2 and NIR n0-n1 are sources; BF b0, b1 (slide S-1), b2 (S-2), b3 (no slide) and a0 are targets. */
const img: Record<string, { id: string; width: number; height: number }> = {};
const slideIds: Record<string, string> = {};
const W = 64, H = 48;

beforeAll(async () => {
  // small limits, so that the errors that name them can be met with small files (item 4 below)
  app = await createTestApp({ maxPixels: 5000, maxUploadBytes: 100_000 });
  api = await createTestApi(app);
  let seed = 0;
  const add = async (name: string, modality: string, slide?: string) => {
    const image = await app.services.images.ingest({ data: await makeImage({ seed: ++seed, width: W, height: H }), fileName: `${name}.png`, modality, slide });
    img[name] = { id: toGlobalId('Image', image.id), width: image.width, height: image.height };
    if (slide && image.slideId !== null) slideIds[slide] = toGlobalId('Slide', image.slideId);
  };
  for (const n of ['a0', 'a1', 'a2']) await add(n, 'SHG');
  for (const n of ['n0', 'n1']) await add(n, 'NIR');
  await add('b0', 'BF', 'S-1');
  await add('b1', 'BF', 'S-1');
  await add('b2', 'BF', 'S-2');
  await add('b3', 'BF');
}, 120_000);
afterAll(async () => {
  await app?.services.jobs.drain();
  await api?.stop();
  await app?.close();
});

const run: TestApi['run'] = (query, variables) => api.run(query, variables);

async function ok(query: string, variables: Record<string, unknown> = {}) {
  const res = await run(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const LINK = 'mutation($s: ID!, $t: ID!, $r: RegionInput, $tf: [Float!]) { linkAcquisition(input: { source: $s, target: $t, region: $r, transform: $tf }) { id status region createdAt } }';
const link = async (s: string, t: string, r?: { x: number; y: number; width: number; height: number }, tf?: number[]) =>
  (await ok(LINK, { s: img[s].id, t: img[t].id, r, tf })).linkAcquisition as { id: string; status: string; region: [number, number][] | null; createdAt: string };
const rowCount = () => app.db.prisma.link.count();

describe(`review queries on ${TEST_BACKEND}`, () => {
  const STATUSES = ['PROPOSED', 'CONFIRMED', 'REJECTED'] as const;
  const SLIDE_OF: Record<string, string | null> = { b0: 'S-1', b1: 'S-1', b2: 'S-2', b3: null, a0: null };
  /** The generated links, as the test expects them to be stored. */
  const made: { id: string; source: string; target: string; status: (typeof STATUSES)[number]; createdAt: string }[] = [];

  beforeAll(async () => {
    let k = 0;
    for (const source of ['a0', 'a1', 'a2', 'n0', 'n1']) {
      for (const target of ['b0', 'b1', 'b2', 'b3', 'a0']) {
        if (source === target) continue;
        const created = await link(source, target, { x: k % 7, y: k % 5, width: 20, height: 10 });
        // a fixed, uneven mix of statuses
        const status = STATUSES[(k * 7 + 3) % 5 < 2 ? 0 : (k * 7 + 3) % 5 < 4 ? 1 : 2];
        if (status !== 'PROPOSED') await ok(`mutation($id: ID!) { setLinkStatus(input: { id: $id, status: ${status} }) { id } }`, { id: created.id });
        made.push({ id: created.id, source, target, status, createdAt: created.createdAt });
        k++;
      }
    }
    expect(made).toHaveLength(24);
  }, 120_000);

  const expected = (f: (l: (typeof made)[number]) => boolean) => made.filter(f).map((l) => l.id);

  /** Every page of links(filter), `first` at a time: the ids in order and the totalCount each page reported. */
  async function allPages(filter: Record<string, unknown>, first = 4): Promise<{ ids: string[]; totals: number[]; statuses: string[] }> {
    const ids: string[] = [], totals: number[] = [], statuses: string[] = [];
    for (let after: string | null = null, pages = 0; pages < 50; pages++) {
      const page: any = (await ok(`query($f: LinkFilter, $first: Int, $after: String) { links(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id status } } } }`, { f: filter, first, after })).links;
      ids.push(...page.edges.map((e: any) => e.node.id));
      statuses.push(...page.edges.map((e: any) => e.node.status));
      totals.push(page.totalCount);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    return { ids, totals, statuses };
  }

  test.each([
    ['no filter', {}, () => true],
    ['status PROPOSED (links onto images without a slide too)', { status: 'PROPOSED' }, (l: any) => l.status === 'PROPOSED'],
    ['status CONFIRMED', { status: 'CONFIRMED' }, (l: any) => l.status === 'CONFIRMED'],
    ['status REJECTED', { status: 'REJECTED' }, (l: any) => l.status === 'REJECTED'],
    ['sourceModality nir (case-insensitive)', { sourceModality: 'nir' }, (l: any) => l.source.startsWith('n')],
    ['targetModality SHG', { targetModality: 'SHG' }, (l: any) => l.target === 'a0'],
    ['sourceModality SHG and targetModality BF and PROPOSED', { sourceModality: 'SHG', targetModality: 'BF', status: 'PROPOSED' }, (l: any) => l.source.startsWith('a') && l.target.startsWith('b') && l.status === 'PROPOSED'],
    ['an unknown modality', { sourceModality: 'XRAY' }, () => false],
  ] as [string, Record<string, unknown>, (l: (typeof made)[number]) => boolean][])('links(filter: %s): every page, in id order, totalCount = the generated count', async (_, filter, keep) => {
    const want = expected(keep);
    const got = await allPages(filter);
    expect(got.ids).toEqual(want);
    expect(new Set(got.totals)).toEqual(new Set([want.length]));
    if (filter.status) expect(new Set(got.statuses)).toEqual(want.length ? new Set([filter.status]) : new Set());
  });

  test('links(filter: { slide }) with a status: only links onto that slide', async () => {
    for (const slide of ['S-1', 'S-2']) {
      for (const status of STATUSES) {
        const got = await allPages({ slide: slideIds[slide], status }, 2);
        expect(got.ids).toEqual(expected((l) => SLIDE_OF[l.target] === slide && l.status === status));
      }
    }
    // ids on generated data: S-1 has two targets, so 2 x 5 sources of links onto it
    expect((await allPages({ slide: slideIds['S-1'] })).ids).toHaveLength(10);
  });

  test('links(filter: { createdAfter }): links created strictly after the instant', async () => {
    const cutoff = made[11].createdAt;
    const got = await allPages({ createdAfter: cutoff });
    expect(got.ids).toEqual(expected((l) => Date.parse(l.createdAt) > Date.parse(cutoff)));
    expect(got.ids.length).toBeGreaterThan(0);
    expect(got.ids.length).toBeLessThan(made.length);
  });

  test('linkCounts and Slide.linkCounts: the generated numbers per status', async () => {
    const count = (f: (l: (typeof made)[number]) => boolean) => {
      const rows = made.filter(f);
      const n = (s: string) => rows.filter((l) => l.status === s).length;
      return { proposed: n('PROPOSED'), confirmed: n('CONFIRMED'), rejected: n('REJECTED'), total: rows.length };
    };
    const data = await ok(`query { linkCounts { proposed confirmed rejected total }
      slides(first: 10) { edges { node { name linkCounts { proposed confirmed rejected total } } } } }`);
    expect(data.linkCounts).toEqual(count(() => true));
    expect(data.linkCounts.proposed * data.linkCounts.confirmed * data.linkCounts.rejected).toBeGreaterThan(0);
    const bySlide = Object.fromEntries(data.slides.edges.map((e: any) => [e.node.name, e.node.linkCounts]));
    expect(bySlide).toEqual({ 'S-1': count((l) => SLIDE_OF[l.target] === 'S-1'), 'S-2': count((l) => SLIDE_OF[l.target] === 'S-2') });
  });

  test('bad filters and pages are BAD_USER_INPUT', async () => {
    const codes = async (q: string, v: Record<string, unknown>) => (await run(q, v)).errors?.map((e) => e.extensions?.code);
    expect(await codes('query($f: LinkFilter) { links(filter: $f) { totalCount } }', { f: { slide: img.b0.id } })).toEqual(['BAD_USER_INPUT']);
    expect(await codes('query { links(first: 501) { totalCount } }', {})).toEqual(['BAD_USER_INPUT']);
    expect(await codes('query { links(after: "nonsense") { totalCount } }', {})).toEqual(['BAD_USER_INPUT']);
    expect(await codes('query($f: LinkFilter) { links(filter: $f) { totalCount } }', { f: { createdAfter: 'yesterday' } })).toEqual(['BAD_USER_INPUT']);
  });
});

describe(`idempotent linking and clipped regions on ${TEST_BACKEND}`, () => {
  test('the same (source, target, region) twice, even after a decision: the same link, one row, one creation event', async () => {
    const region = { x: 5, y: 6, width: 30, height: 20 };
    const before = await rowCount();
    const first = await link('a1', 'b3', region);
    await ok(`mutation($id: ID!) { setLinkStatus(input: { id: $id, status: CONFIRMED }) { id } }`, { id: first.id });
    const again = await link('a1', 'b3', region);
    expect(again.id).toBe(first.id);
    expect(again.status).toBe('CONFIRMED');
    expect(await rowCount()).toBe(before + 1);
    const history = (await ok('query($id: ID!) { node(id: $id) { ... on Link { history { action toStatus } } } }', { id: first.id })).node.history;
    expect(history).toEqual([{ action: 'linkAcquisition', toStatus: 'PROPOSED' }, { action: 'setLinkStatus', toStatus: 'CONFIRMED' }]);
    // another region of the same pair is another link; so is the pair without a region, once
    const other = await link('a1', 'b3', { ...region, x: 6 });
    expect(other.id).not.toBe(first.id);
    const bare = await link('a1', 'b3');
    expect(bare.region).toBeNull();
    expect((await link('a1', 'b3')).id).toBe(bare.id);
    expect(await rowCount()).toBe(before + 3);
  });

  test('a decision with a comment keeps it (trimmed, in the audit trail too); a blank one is none; an oversized one is BAD_USER_INPUT and changes nothing', async () => {
    const made = await link('a2', 'b1', { x: 1, y: 2, width: 10, height: 10 });
    const decide = (comment: unknown) =>
      run('mutation($id: ID!, $comment: String) { setLinkStatus(input: { id: $id, status: REJECTED, comment: $comment }) { status comment } }', { id: made.id, comment });
    expect((await decide('  stroma, not tumour: wrong region  ')).data!.setLinkStatus).toEqual({ status: 'REJECTED', comment: 'stroma, not tumour: wrong region' });
    const refused = await decide('x'.repeat(2001));
    expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0].message).toMatch(/comment/);
    const now = await ok('query($id: ID!) { node(id: $id) { ... on Link { comment history { action toStatus } } } }', { id: made.id });
    expect(now.node.comment).toBe('stroma, not tumour: wrong region');
    expect(now.node.history).toHaveLength(2);
    const audit = await app.db.prisma.auditEvent.findMany({ where: { action: 'setLinkStatus', targetType: 'Link' }, orderBy: { id: 'desc' }, take: 1 });
    expect((audit[0].after as { comment: string }).comment).toBe('stroma, not tumour: wrong region');
    expect((await decide('   ')).data!.setLinkStatus.comment).toBeNull();
  });

  test('six identical requests at once: one row, every answer names it', async () => {
    const before = await rowCount();
    const answers = await Promise.all(Array.from({ length: 6 }, () => link('a2', 'b3', { x: 1, y: 2, width: 10, height: 10 })));
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    expect(await rowCount()).toBe(before + 1);
  });

  test('a request that loses the race to the unique index returns the winner (the look-up before the insert missed it)', async () => {
    const region = { x: 3, y: 3, width: 12, height: 12 };
    const winner = await link('n0', 'b3', region);
    const spy = vi.spyOn(app.repos.links, 'findSame').mockResolvedValueOnce(null);
    try {
      const loser = await link('n0', 'b3', region);
      expect(loser.id).toBe(winner.id);
      expect(spy).toHaveBeenCalledTimes(2); // the look-up (made to miss), then the one after the refused insert
    } finally {
      spy.mockRestore();
    }
  });

  test('a region past the target is clipped to it (the issue: 4 px past a 512 px image); one wholly outside is BAD_USER_INPUT', async () => {
    // the case at this image's size: 64 x 48 shifted 4 px down
    const shifted = await link('n1', 'b3', { x: 0, y: 4, width: W, height: H });
    expect(new Set(shifted.region!.map((p) => p.join(',')))).toEqual(new Set(['0,4', `${W},4`, `${W},${H}`, `0,${H}`]));
    expect(shifted.region).toHaveLength(4);
    // a 45-degree rotated footprint around the image's centre, larger than the image: clipped to its bounds
    const c = Math.SQRT1_2;
    const rotated = await link('n1', 'b2', undefined, [c, -c, W / 2, c, c, -H / 2 + 10]);
    for (const [x, y] of rotated.region!) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(W);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(H);
    }
    const area = Math.abs(polygonArea(rotated.region!));
    expect(area).toBeGreaterThan(0);
    expect(area).toBeLessThan(W * H); // the whole rotated source (64 x 48) would not fit
    const outside = await run(LINK, { s: img.n1.id, t: img.b1.id, r: { x: W + 10, y: 0, width: 10, height: 10 } });
    expect(outside.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(outside.errors![0].message).toBe(`the region lies outside the target image (${W} x ${H} px)`);
  });
});

describe(`jobs(filter) on ${TEST_BACKEND}`, () => {
  test('by state and kind, paged, with totalCount; a job of a stopped process is listed FAILED', async () => {
    const jobs = app.services.jobs;
    // on a Postgres server the images above were ingested by image.ingest jobs (docs/adr/0027): this test counts its own
    await app.db.prisma.job.deleteMany({ where: { kind: 'image.ingest' } });
    const succeed = (kind: 'index.rebuild' | 'slide.tile') => jobs.start(kind, {}, async (p) => (p.report(3, 3), { ok: true }));
    const started = [await succeed('index.rebuild'), await succeed('index.rebuild'), await succeed('slide.tile')];
    started.push(await jobs.start('vocabulary.build', {}, async () => { throw new Error('boom'); }));
    await jobs.drain();
    // a RUNNING job whose owner stopped ten minutes ago (another process's row)
    const orphan = await app.repos.jobs.create('index.rebuild', {}, 10, 'elsewhere:1:gone');
    await app.db.prisma.job.update({ where: { id: orphan.id }, data: { state: 'RUNNING', heartbeatAt: new Date(Date.now() - 600_000) } });

    const list = async (filter: Record<string, unknown>, first = 20) =>
      (await ok('query($f: JobFilter, $first: Int) { jobs(filter: $f, first: $first) { totalCount pageInfo { hasNextPage } edges { node { id kind state done total } } } }', { f: filter, first })).jobs;
    const all = await list({});
    expect(all.totalCount).toBe(5);
    expect(all.edges.map((e: any) => e.node.id)).toEqual([...started.map((j) => toGlobalId('Job', j.id)), toGlobalId('Job', orphan.id)]);
    expect((await list({ state: 'RUNNING' })).totalCount).toBe(0);
    const failed = await list({ state: 'FAILED' });
    expect(failed.edges.map((e: any) => [e.node.kind, e.node.state])).toEqual([['vocabulary.build', 'FAILED'], ['index.rebuild', 'FAILED']]);
    const rebuilt = await list({ kind: 'index.rebuild', state: 'SUCCEEDED' }, 1);
    expect(rebuilt).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
    expect(rebuilt.edges.map((e: any) => e.node)).toEqual([{ id: toGlobalId('Job', started[0].id), kind: 'index.rebuild', state: 'SUCCEEDED', done: 3, total: 3 }]);
    const bad = await run('query { jobs(filter: { kind: "vocabulary" }) { totalCount } }');
    expect(bad.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0].message).toContain('vocabulary.build, index.rebuild, slide.tile');
  });
});

describe(`API ids and settings in errors (issue 23 item 4) on ${TEST_BACKEND}`, () => {
  test('NOT_FOUND names the id the client gave, never the row number', async () => {
    const given = toGlobalId('Link', 99_999);
    const res = await run('mutation($id: ID!) { setLinkStatus(input: { id: $id, status: CONFIRMED }) { id } }', { id: given });
    expect(res.errors?.map((e) => [e.extensions?.code, e.message, e.extensions?.id])).toEqual([['NOT_FOUND', `Link "${given}" does not exist`, given]]);
    const image = toGlobalId('Image', 88_888);
    const linked = await run(LINK, { s: image, t: img.b0.id });
    expect(linked.errors?.map((e) => e.message)).toEqual([`Image "${image}" does not exist`]);
    expect(JSON.stringify(linked.errors)).not.toContain('88888');
  });

  test('DUPLICATE_IMAGE gives the stored image\'s API id, in the message and as existingId', async () => {
    const data = await makeImage({ seed: 4, width: W, height: H }); // n0's file (seeds 1-9 in the order of beforeAll)
    const err = await app.services.images.ingest({ data, fileName: 'again.png', modality: 'BF' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'DUPLICATE_IMAGE', message: `this file is already stored as image ${img.n0.id}`, details: { existingId: img.n0.id } });
  });

  test('PAYLOAD_TOO_LARGE names the setting, and for a multi-page file the page option', async () => {
    const pixels = await app.services.images.ingest({ data: await makeMultiPageTiff(100, 100), fileName: 'big.tif', modality: 'BF' }).catch((e) => e);
    expect(pixels.code).toBe('PAYLOAD_TOO_LARGE');
    expect(pixels.message).toBe('100x100 exceeds the limit of 5000 pixels (CMIR_MAX_PIXELS); the file has 2 pages: ingest a smaller one (a lower pyramid level) with the page option (ingestImage page, cmir ingest --page N)');
    expect(pixels.details).toMatchObject({ setting: 'CMIR_MAX_PIXELS', pages: 2 });
    const bytes = await app.services.images.ingest({ data: Buffer.alloc(100_001), fileName: 'big.png', modality: 'BF' }).catch((e) => e);
    expect(bytes).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'the file has 100001 bytes; the limit is 100000 (CMIR_MAX_UPLOAD_BYTES)', details: { setting: 'CMIR_MAX_UPLOAD_BYTES' } });
  });
});
