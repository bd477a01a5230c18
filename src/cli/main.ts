import { Command } from 'commander';
import { PACKAGE_VERSION } from '../paths.ts';
import { COMMANDS, requestedCommand } from './commands.ts';
import { printError } from './output.ts';

const program = new Command('cmir')
  .description('cross-modal image retrieval: find where an image of one modality came from in another')
  .version(PACKAGE_VERSION, '-V, --version', "print cmir's version")
  .showHelpAfterError();

try {
  // Only the command being run is loaded and defined in full; the others are listed by name and summary.
  const requested = requestedCommand(process.argv.slice(2));
  for (const c of COMMANDS) {
    if (c === requested) (await c.load())(program);
    else program.command(c.name).description(c.summary);
  }
  await program.parseAsync(process.argv);
} catch (e) {
  printError(e);
  process.exitCode = 1;
}
