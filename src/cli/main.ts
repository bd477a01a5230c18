import { Command } from 'commander';
import { registerImages } from './commands/images.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLink } from './commands/link.ts';
import { registerModels } from './commands/models.ts';
import { registerSearch } from './commands/search.ts';
import { registerServe } from './commands/serve.ts';
import { registerTrain } from './commands/train.ts';
import { registerReindex } from './commands/reindex.ts';
import { registerVocabulary } from './commands/vocabulary.ts';
import { printError } from './output.ts';

const program = new Command('cmir')
  .description('cross-modal image retrieval: find where an image of one modality came from in another')
  .showHelpAfterError();
registerServe(program);
registerIngest(program);
registerImages(program);
registerVocabulary(program);
registerReindex(program);
registerSearch(program);
registerLink(program);
registerTrain(program);
registerModels(program);
registerKeys(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  printError(e);
  process.exitCode = 1;
}
