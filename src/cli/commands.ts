import type { Command } from 'commander';

/** One top-level command: its name and summary (for `cmir --help`) and the module that defines it, loaded on use. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<(program: Command) => void>;
}

/**
 * Every top-level command. A command's module (and with it the app: database, ONNX runtime, sharp) is imported only
 * when that command runs, so `cmir --help` and `cmir --version` load none of them (docs/adr/0019). Each summary is
 * the description its module gives the command (test/unit/cli-commands.test.ts keeps them equal).
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'serve', summary: 'serve GraphQL at http://localhost:PORT/graphql (embedded database unless DATABASE_URL is set)', load: async () => (await import('./commands/serve.ts')).registerServe },
  { name: 'worker', summary: 'run queued jobs (vocabulary builds, reindexing, slide tiling) from the Postgres at DATABASE_URL; serves no API', load: async () => (await import('./commands/worker.ts')).registerWorker },
  { name: 'ingest', summary: 'ingest image files or folders of them (TIFF, PNG, JPEG)', load: async () => (await import('./commands/ingest.ts')).registerIngest },
  { name: 'images', summary: 'list stored images', load: async () => (await import('./commands/images.ts')).registerImages },
  { name: 'modalities', summary: 'list modalities: channels, normalisation, CoMIR model, image count', load: async () => (await import('./commands/modalities.ts')).registerModalities },
  { name: 'jobs', summary: 'list jobs (running and failed unless --all) with their progress', load: async () => (await import('./commands/jobs.ts')).registerJobs },
  { name: 'vocabulary', summary: 'visual vocabularies (stage II)', load: async () => (await import('./commands/vocabulary.ts')).registerVocabulary },
  { name: 'reindex', summary: 'bring the vector first stage up to date: vectors for every image that has none in its current space (resumable)', load: async () => (await import('./commands/reindex.ts')).registerReindex },
  { name: 'search', summary: "find where an image came from: rank the target modality's images and locate the query in them", load: async () => (await import('./commands/search.ts')).registerSearch },
  { name: 'link', summary: 'link acquisitions to where they came from', load: async () => (await import('./commands/link.ts')).registerLink },
  { name: 'train', summary: 'train a CoMIR network pair (PyTorch) and export two ONNX files + manifest.json', load: async () => (await import('./commands/train.ts')).registerTrain },
  { name: 'models', summary: 'CoMIR model pairs (stage I)', load: async () => (await import('./commands/models.ts')).registerModels },
  { name: 'keys', summary: 'API keys for the server: create (shown once), list, revoke', load: async () => (await import('./commands/keys.ts')).registerKeys },
];

/** The command an argument list runs (`cmir help X` asks for X's help): the first argument that is not an option. */
export function requestedCommand(args: readonly string[]): CommandEntry | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name);
}
