/**
 * Makes the synthetic whole slides of ./tma.ts in bench/.cache/slides/ (git-ignored; cached by parameters).
 *
 *   npx tsx bench/slides/make.ts [--large] [--width 40000 --height 30000] [--shg] [--check] [--force]
 *
 * --large  also the large slide (default 40000 x 30000, BigTIFF)
 * --shg    also the SHG slides of the same layout (for BF queries, the reverse direction)
 * --check  checks every query's truth against the slide: the slide sampled through the query's frame (reduced to the
 *          query's 2 um pixels) against the slide-modality core warped the same way (Pearson r inside the core square)
 * Data: CMIR_DATA_DIR (default ../shared/data).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../../src/pipeline/decode/decode.ts';
import { warpAffine } from '../../src/pipeline/rerank/warp.ts';
import { invertAffine } from '../../src/pipeline/rerank/geometry.ts';
import { DEFAULT_DATA_DIR, ensureTmaSlides, makeLargeSlide, readCores, sampleSlide, tmaQueries } from './tma.ts';

const { values: args } = parseArgs({
  options: {
    large: { type: 'boolean', default: false },
    width: { type: 'string', default: '40000' },
    height: { type: 'string', default: '30000' },
    shg: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    data: { type: 'string', default: DEFAULT_DATA_DIR },
  },
});

const dataDir = args.data;
const mb = () => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB rss`;

for (const modality of args.shg ? (['bf', 'shg'] as const) : (['bf'] as const)) {
  const r = await ensureTmaSlides({ dataDir, modality, force: args.force });
  console.log(`TMA ${modality}: ${r.dir} (${r.generated ? `generated in ${r.seconds.toFixed(1)} s, ${mb()}` : 'cached'})`);
  for (const s of r.truth.slides) console.log(`  ${s.file}  ${s.width}x${s.height}  ${s.cores.length} cores: ${s.cores.map((c) => c.id).join(' ')}`);
}

if (args.large) {
  const r = await makeLargeSlide({ dataDir, width: Number(args.width), height: Number(args.height), force: args.force });
  const meta = await sharp(r.file, { limitInputPixels: false }).metadata();
  console.log(
    `large: ${r.file} ${r.truth.width}x${r.truth.height} (${((r.truth.width * r.truth.height) / 1e9).toFixed(2)} Gpx), ${r.truth.cores.length} cores, ` +
      `${meta.pages} levels, ${meta.density} dpi (${r.generated ? `generated in ${r.seconds.toFixed(1)} s, ${mb()}` : 'cached'})`,
  );
}

if (args.check) {
  const cores = new Map((await readCores(dataDir)).map((c) => [c.id, c]));
  for (const slides of args.shg ? (['bf', 'shg'] as const) : (['bf'] as const)) {
    const queries = await tmaQueries({ dataDir, slides });
    const rs: number[] = [];
    for (const q of queries) {
      const { width: w, height: h } = q.image;
      const seen = await sampleSlide(q.slide, q.toSlide, w, h);
      const { image: core } = await decodeImage(await readFile(cores.get(q.id)![slides]), { maxPixels: 1 << 24 });
      const expected = warpAffine(core, invertAffine(q.toCore), w, h);
      let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          // inside the core square (away from its edge): the pasted core, whose truth is checked
          const cx = q.toCore[0] * x + q.toCore[1] * y + q.toCore[2], cy = q.toCore[3] * x + q.toCore[4] * y + q.toCore[5];
          if (cx < 2 || cy < 2 || cx > 509 || cy > 509) continue;
          const a = seen.data[y * w + x], b = expected.data[y * w + x];
          n++, (sa += a), (sb += b), (saa += a * a), (sbb += b * b), (sab += a * b);
        }
      }
      const r = (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
      rs.push(r);
      console.log(
        `  ${q.modality} query ${q.id.padEnd(6)} ${q.kind.padEnd(5)} on ${slides} slide ${q.slideIndex + 1} centre (${q.centre.map((v) => v.toFixed(0)).join(', ')}) ` +
          `${q.degrees.toFixed(1)} deg ${q.micronsPerPixel} um/px  r = ${r.toFixed(4)} (${n} px)`,
      );
    }
    console.log(`check ${slides} slides: correlation of the slide seen through each query's truth with the ${slides} core warped the same way: min ${Math.min(...rs).toFixed(4)}, mean ${(rs.reduce((a, b) => a + b, 0) / rs.length).toFixed(4)} over ${rs.length} queries`);
  }
}
