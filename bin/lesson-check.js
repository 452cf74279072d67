#!/usr/bin/env node
// Entry point: runs the TypeScript CLI directly (no build step) through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../helpers/cli.ts');
process.exit(await main(process.argv.slice(2)));
