// The file Piscina starts in each worker thread (pool.ts). A worker does not inherit the tsx hooks of its parent
// (pipeline/ts-worker.ts), so this registers them (tsx/esm/api, as bin/cmir.js does) before importing the TypeScript.
import { register } from 'tsx/esm/api';

register();
const { default: run } = await import('./worker.ts');
export default run;
