/**
 * The child process of test/medium/wsi-crash.test.ts: opens cmir on the embedded database in `home` (as `cmir serve`
 * would), ingests a whole slide as BF, and prints one JSON line per event on stdout while its tiling job runs:
 *   {"event":"ingested","imageId":..,"jobId":..}   {"event":"tiles","n":..}   {"event":"done","state":..}
 * The test kills it (SIGKILL) once tiles have been stored.
 *
 *   node --import tsx test/helpers/wsi-crash-child.ts <home> <slide.tif>
 */
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const [home, file] = process.argv.slice(2);
if (!home || !file) throw new Error('usage: wsi-crash-child.ts <home> <slide.tif>');
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

const app = await createApp(loadConfig({ home }, {}));
const { image, jobId } = await app.services.wsi.ingest({ file, modality: 'BF' });
say({ event: 'ingested', imageId: image.id, jobId, pid: process.pid });
let last = -1;
let polling = false;
const timer = setInterval(() => {
  if (polling) return;
  polling = true;
  void app.db.prisma.tile
    .count({ where: { imageId: image.id } })
    .then((n) => {
      if (n !== last) say({ event: 'tiles', n });
      last = n;
    })
    .finally(() => (polling = false));
}, 50);
const job = await app.services.jobs.wait(jobId);
clearInterval(timer);
say({ event: 'done', state: job.state });
await app.close();
