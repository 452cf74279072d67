#!/usr/bin/env node
// Entry point. The CLI is TypeScript (helpers/). To start fast it runs from an esbuild bundle in
// node_modules/.cache/lesson-check, rebuilt whenever a file under helpers/ or the installed
// packages change (checking costs a few ms, rebuilding about 0.3 s); where that cannot be done
// (no esbuild, a read-only install) it runs the sources through tsx. No build step to remember.
import { cliModule } from './bundle.js';

const { markProcessStart, mark, main } = await import(await cliModule());
markProcessStart('cli: process start');
mark('cli: modules loaded');
const code = await main(process.argv.slice(2));
mark('cli: exit');
process.exit(code);
