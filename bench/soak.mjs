#!/usr/bin/env node
// npm run soak [-- --runs N]: N verifies in a row (50 by default) on one kept lab, each expected
// to pass: a check that fails now and then on an intact node is a false failure, and this finds
// it. Not part of every CI run; its figure goes in the notes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { $, argv } from 'zx';
import { CLI } from './lib.mjs';

$.verbose = false;
const runs = Number(argv.runs ?? 50);
const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-soak-'));
const kept = await $`${CLI} lab --keep --quiet --reports ${join(scratch, 'lab')}`.nothrow();
const profile = /its profile: (\S+)/.exec(kept.stderr + kept.stdout)?.[1];
if (!profile) throw new Error(`lab --keep failed:\n${kept.stderr}`);
const failures = [];
const times = [];
try {
  for (let i = 1; i <= runs; i++) {
    const t0 = performance.now();
    const r = await $`${CLI} verify --profile ${profile} --quiet --reports ${join(scratch, `v${i}`)}`.nothrow();
    times.push(performance.now() - t0);
    if (r.exitCode !== 0)
      failures.push({
        run: i,
        exitCode: r.exitCode,
        output: r.stdout
          .split('\n')
          .filter((l) => /^[✗!]|observed|cause/.test(l))
          .join('\n'),
      });
    process.stdout.write(`  ${i}/${runs}: exit ${r.exitCode} in ${(times.at(-1) / 1000).toFixed(2)} s\n`);
  }
} finally {
  await $`${CLI} lab --down --profile ${profile}`.nothrow();
  rmSync(scratch, { recursive: true, force: true });
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `soak: ${runs - failures.length}/${runs} verifies passed; ` +
    `median ${(sorted[Math.floor(runs / 2)] / 1000).toFixed(2)} s, max ${(sorted.at(-1) / 1000).toFixed(2)} s`,
);
for (const f of failures) console.log(`run ${f.run}: exit ${f.exitCode}\n${f.output}`);
process.exitCode = failures.length ? 1 : 0;
