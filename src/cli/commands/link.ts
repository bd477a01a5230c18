import type { Command } from 'commander';
import type { LinkStatus } from '../../db/generated/client.ts';
import { fromGlobalId, toGlobalId } from '../../ids.ts';
import { cliActor } from '../../services/auth.ts';
import { withApp } from '../app.ts';

function linkJson(l: { id: number; sourceId: number; targetImageId: number | null; status: string; score: number | null; transform: number[]; region: unknown; method: string }) {
  return {
    id: toGlobalId('Link', l.id),
    source: toGlobalId('Image', l.sourceId),
    target: l.targetImageId === null ? null : toGlobalId('Image', l.targetImageId),
    status: l.status,
    score: l.score,
    method: l.method,
    transform: l.transform,
    region: l.region,
  };
}

/** One line per link, as every other command prints (`--json` gives linkJson). */
function printLink(l: ReturnType<typeof linkJson>, json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(l, null, 2));
  else console.log(`${l.id}\t${l.status}\t${l.source} -> ${l.target ?? '-'}\tscore ${l.score ?? '-'}\t${l.method}`);
}

export function registerLink(program: Command): void {
  const link = program.command('link').description('link acquisitions to where they came from');
  link
    .command('list')
    .description('list links, oldest first (the review queue: --status PROPOSED)')
    .option('--status <status>', 'only links in this status: PROPOSED, CONFIRMED or REJECTED')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { status?: string; json?: boolean; home?: string }) => {
      const rows = await withApp(opts, async (app) => {
        const out = [];
        for (let after: string | null = null; ; ) {
          const page = await app.services.links.list({ status: opts.status?.toUpperCase() as LinkStatus | undefined }, { first: 500, after });
          out.push(...page.edges.map((e) => e.node));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        const names = new Map((await app.services.images.getMany([...new Set(out.flatMap((l) => [l.sourceId, l.targetImageId ?? l.sourceId]))])).map((i) => [i.id, i.name]));
        return out.map((l) => ({
          ...linkJson(l),
          sourceName: names.get(l.sourceId) ?? null,
          targetName: l.targetImageId === null ? null : (names.get(l.targetImageId) ?? null),
          createdBy: l.createdBy,
          createdAt: l.createdAt.toISOString(),
        }));
      });
      if (opts.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log(opts.status ? `no ${opts.status.toUpperCase()} links` : 'no links');
      else {
        console.log(['id', 'status', 'source', 'target', 'score', 'created'].join('\t'));
        for (const r of rows) {
          console.log([r.id, r.status, `${r.source} (${r.sourceName})`, `${r.target} (${r.targetName})`, r.score ?? '-', r.createdAt].join('\t'));
        }
      }
    });
  link
    .command('add')
    .description('propose a link from a source image to a target image')
    .argument('<source>', 'source image: its id, or its name where one image has it')
    .argument('<target>', 'target image: its id, or its name where one image has it')
    .option('--region <x,y,w,h>', 'where the source lies in the target (pixels)')
    .option('--score <s>', 'match score')
    .option('--method <m>', 'how it was found', 'manual')
    .option('--json', 'print the link as JSON')
    .option('--home <dir>')
    .action(async (source: string, target: string, opts: { region?: string; score?: string; method: string; json?: boolean; home?: string }) => {
      const r = opts.region?.split(',').map(Number);
      await withApp(opts, async (app) => {
        // the command line acts as the home's operator: createdBy is cli:<os user> (docs/adr/0014)
        const created = await app.services.links.link(
          {
            sourceId: (await app.services.images.resolve(source)).id,
            targetId: (await app.services.images.resolve(target)).id,
            region: r ? { x: r[0], y: r[1], width: r[2], height: r[3] } : null,
            score: opts.score === undefined ? null : Number(opts.score),
            method: opts.method,
          },
          cliActor(),
        );
        printLink(linkJson(created), opts.json);
      });
    });
  for (const [name, status] of [['confirm', 'CONFIRMED'], ['reject', 'REJECTED']] as const) {
    link
      .command(name)
      .argument('<id>', 'link id')
      .option('--json', 'print the link as JSON')
      .option('--home <dir>')
      .action(async (id: string, opts: { json?: boolean; home?: string }) => {
        await withApp(opts, async (app) => {
          printLink(linkJson(await app.services.links.setStatus(fromGlobalId('Link', id), status, cliActor())), opts.json);
        });
      });
  }
}
