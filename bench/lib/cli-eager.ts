/**
 * The CLI as it started before docs/adr/0019, for bench/cli.ts's "before": from the TypeScript sources through tsx,
 * with every command's module (and with them the whole app) imported at start, as src/cli/main.ts did then.
 */
import { Command } from 'commander';
import { COMMANDS } from '../../src/cli/commands.ts';
import { printError } from '../../src/cli/output.ts';

const program = new Command('cmir').description('cross-modal image retrieval').showHelpAfterError();
try {
  for (const register of await Promise.all(COMMANDS.map((c) => c.load()))) register(program);
  await program.parseAsync(process.argv);
} catch (e) {
  printError(e);
  process.exitCode = 1;
}
