import { Command } from 'commander';
import { registerImages } from './commands/images.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerServe } from './commands/serve.ts';
import { printError } from './output.ts';

const program = new Command('cmir')
  .description('cross-modal image retrieval: find where an image of one modality came from in another')
  .showHelpAfterError();
registerServe(program);
registerIngest(program);
registerImages(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  printError(e);
  process.exitCode = 1;
}
