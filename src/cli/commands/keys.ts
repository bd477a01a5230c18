import type { Command } from 'commander';
import type { ApiKey } from '../../db/generated/client.ts';
import { fromGlobalId, toGlobalId } from '../../ids.ts';
import { cliActor, ROLES } from '../../services/auth.ts';
import { publicKey } from '../../services/key.service.ts';
import { withApp } from '../app.ts';

/** A key named on the command line: its API id (as `keys list` prints it), else its name. */
function keyRef(arg: string): number | string {
  try {
    return fromGlobalId('ApiKey', arg);
  } catch {
    return arg;
  }
}

/** A key as `keys list` shows it: never the secret (the table does not hold it) nor its hash; its API id. */
function keyJson(k: ApiKey) {
  const { id, name, role, prefix, createdAt, lastUsedAt, revokedAt } = publicKey(k);
  return { id: toGlobalId('ApiKey', id), name, role, prefix, created: createdAt.toISOString(), lastUsed: lastUsedAt?.toISOString() ?? null, revoked: revokedAt?.toISOString() ?? null };
}

/**
 * `cmir keys create|list|revoke`: API keys for the GraphQL server (docs/adr/0014). The command line acts on the home
 * itself, as its operator, so it needs no key; its changes are audited as cli:<os user>.
 */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys for the server: create (shown once), list, revoke');
  keys
    .command('create')
    .description('create a key and print it once (only its SHA-256 is stored)')
    .requiredOption('--name <name>', 'a name for the key (who or what uses it); recorded as the actor of its changes')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')} (each includes the ones before it)`)
    .option('--json', 'print { key, ...row } as JSON')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { name: string; role: string; json?: boolean; home?: string }) => {
      const created = await withApp(opts, (app) => app.services.keys.create(opts.name, opts.role, cliActor()));
      if (opts.json) {
        console.log(JSON.stringify({ key: created.secret, ...keyJson(created.key) }, null, 2));
      } else {
        console.log(created.secret);
        console.error(`created key ${toGlobalId('ApiKey', created.key.id)} "${created.key.name}" (${created.key.role}); it is shown this once: store it now`);
      }
    });
  keys
    .command('list')
    .description('list keys: id, name, role, prefix, created, last used, revoked (never the secrets)')
    .option('--json', 'print a JSON array')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (opts: { json?: boolean; home?: string }) => {
      const rows = (await withApp(opts, (app) => app.services.keys.list())).map(keyJson);
      if (opts.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      console.log(['id', 'name', 'role', 'prefix', 'created', 'last used', 'revoked'].join('\t'));
      for (const r of rows) console.log([r.id, r.name, r.role, `${r.prefix}…`, r.created, r.lastUsed ?? '-', r.revoked ?? '-'].join('\t'));
    });
  keys
    .command('revoke')
    .description('revoke a key by id or name: every later request with it is refused (UNAUTHENTICATED)')
    .argument('<key>', 'the key id (as keys list prints it) or name')
    .option('--home <dir>', 'data folder (default ./.cmir, or CMIR_HOME)')
    .action(async (key: string, opts: { home?: string }) => {
      const revoked = await withApp(opts, (app) => app.services.keys.revoke(keyRef(key), cliActor()));
      console.log(`revoked key ${toGlobalId('ApiKey', revoked.id)} "${revoked.name}" at ${revoked.revokedAt!.toISOString()}`);
    });
}
