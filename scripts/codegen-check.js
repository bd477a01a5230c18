// Fails when the committed resolver types differ from what the SDL generates now (run `npm run codegen` to fix).
import { readFile } from 'node:fs/promises';
import { generate } from '@graphql-codegen/cli';
import { register } from 'tsx/esm/api';

register();
const { default: config } = await import('../codegen.ts');
const outputs = await generate({ ...config, silent: true }, false);
let stale = 0;
for (const { filename, content } of outputs) {
  const committed = await readFile(filename, 'utf8').catch(() => '');
  if (committed !== content) {
    console.error(`codegen drift: ${filename} does not match src/schema/*.graphql; run \`npm run codegen\``);
    stale++;
  }
}
if (stale) process.exit(1);
console.log(`codegen: ${outputs.length} generated file(s) up to date`);
