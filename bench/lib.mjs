// What the benchmarks share: timing, medians, and bench/RESULTS.md, where each benchmark other
// than `npm run bench` keeps a section of its own between markers that the others leave alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const RESULTS = new URL('RESULTS.md', import.meta.url).pathname;
/** The project's root, and the CLI as every benchmark runs it directly. */
export const ROOT = new URL('..', import.meta.url).pathname;
export const CLI = ['node', `${ROOT}bin/lesson-check.js`];

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const seconds = (ms, digits = 2) => (ms / 1000).toFixed(digits);

/** How long `cmd` (a promise, e.g. a zx command) takes to settle, in ms. */
export async function timed(cmd) {
  const t0 = performance.now();
  await cmd;
  return performance.now() - t0;
}

const begin = (name) => `<!-- ${name}: written by npm run bench:${name} -->`;
const end = (name) => `<!-- /${name} -->`;

/** Writes `body` as the section `name` of RESULTS.md, in place of the one there, or at the end. */
export function writeSection(name, body) {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const section = `${begin(name)}\n${body}\n${end(name)}`;
  const at = current.indexOf(begin(name));
  writeFileSync(
    RESULTS,
    at >= 0
      ? `${current.slice(0, at)}${section}${current.slice(current.indexOf(end(name)) + end(name).length)}`
      : `${current.trimEnd()}\n\n${section}\n`,
  );
  return section;
}

/** The sections of RESULTS.md written by the other benchmarks, as they are. */
export function keptSections() {
  const previous = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
  return [...previous.matchAll(/<!-- ([\w-]+):[\s\S]*?<!-- \/\1 -->/g)].map((m) => m[0]);
}
