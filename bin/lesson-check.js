#!/usr/bin/env node
// Entry point. The CLI is TypeScript (helpers/). To start fast it runs from an esbuild bundle in
// node_modules/.cache/lesson-check (or, when the package cannot be written, the user's
// ~/.cache/lesson-check: bin/bundle.js), rebuilt whenever a file under helpers/ or the installed
// packages change (checking costs a few ms, rebuilding about 0.3 s); where that cannot be done
// (no esbuild, no cache folder that can be written) it runs the sources through tsx. No build
// step to remember. The suites run from a bundle of their own too (LC_SUITES_BUNDLE, read by
// helpers/suite-run/suite-config.ts), and vitest caches its transforms in the same folder
// (LC_BUNDLE_CACHE_DIR, passed on to the processes a run starts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliModule } from './bundle.js';

// an error that escapes the CLI is lesson-check's own bug: exit 2 (1 means "checks failed"), one
// line, and the stack in a file for the bug report
const bug = (e) => {
  let details = '';
  try {
    const file = join(mkdtempSync(join(tmpdir(), 'lesson-check-error-')), 'lesson-check-error.txt');
    writeFileSync(file, String(e?.stack ?? e));
    details = `; details: ${file}`;
  } catch {
    // nowhere to write: the line alone
  }
  console.error(`lesson-check: internal error (a bug): ${String(e?.message ?? e).split('\n')[0]}${details}`);
  process.exit(2);
};
process.on('uncaughtException', bug);
process.on('unhandledRejection', bug);
let code = 2;
try {
  const cli = await cliModule();
  if (cli.suites) process.env.LC_SUITES_BUNDLE = cli.suites;
  if (cli.cache) process.env.LC_BUNDLE_CACHE_DIR = cli.cache;
  const { markProcessStart, mark, main } = await import(cli.url);
  markProcessStart('cli: process start');
  mark('cli: modules loaded');
  code = await main(process.argv.slice(2));
  mark('cli: exit');
} catch (e) {
  bug(e);
}
process.exit(code);
