#!/usr/bin/env node
// cmir's command line. The sources are TypeScript, run through tsx's loader, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
