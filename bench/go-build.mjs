#!/usr/bin/env node
// npm run bench:go-build [-- --runs N]: what the go source costs. Times the cold build of the
// lesson's releases (empty Go module and build caches and an empty lesson-check cache, so every
// module is downloaded through GOPROXY and every package compiled), the warm one (all cached),
// and the warm `npm run lab` with the go source against the apt source, alternating; writes the
// figures into bench/RESULTS.md between its go-build markers (npm run bench keeps them).
import { cpus, tmpdir } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { median, seconds as secondsTo, timed, writeSection, CLI, ROOT } from './lib.mjs';

$.verbose = false;
const runs = Number(argv.runs ?? 3);

const seconds = (ms) => secondsTo(ms, 1);

const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-go-bench-'));
try {
  const cold = {
    GOMODCACHE: join(scratch, 'gomod'),
    GOCACHE: join(scratch, 'gocache'),
    LC_GO_CACHE_DIR: join(scratch, 'lc-go'),
    GOFLAGS: `${process.env.GOFLAGS ?? ''} -modcacherw`.trim(),
  };
  console.log("bench: cold build of the lesson's releases (empty caches)…");
  const coldMs = await timed(
    $({ env: { ...process.env, ...cold } })`${CLI} fetch --source go --to ${join(scratch, 'cold')}`,
  );
  // each module's own build time, from the build records the go source keeps beside its outputs
  const builds = readdirSync(cold.LC_GO_CACHE_DIR)
    .filter((d) => d.startsWith('go'))
    .flatMap((d) =>
      readdirSync(join(cold.LC_GO_CACHE_DIR, d)).map((m) => join(cold.LC_GO_CACHE_DIR, d, m, 'build.json')),
    )
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const warmMs = await timed(
    $({ env: { ...process.env, ...cold } })`${CLI} fetch --source go --to ${join(scratch, 'warm')}`,
  );
  console.log(`  cold ${seconds(coldMs)} s, warm ${seconds(warmMs)} s`);

  // the labs use the machine's own caches: warm them once each, then alternate
  const lab = (source) => {
    const reports = mkdtempSync(join(scratch, 'lab-'));
    return $`npm run --silent --prefix ${ROOT} lab -- --source ${source} --quiet --reports ${reports}`;
  };
  await lab('go');
  await lab('apt');
  const goMs = [];
  const aptMs = [];
  for (let i = 0; i < runs; i++) {
    goMs.push(await timed(lab('go')));
    aptMs.push(await timed(lab('apt')));
    console.log(`  run ${i + 1}/${runs}: lab go ${seconds(goMs.at(-1))} s, lab apt ${seconds(aptMs.at(-1))} s`);
  }

  const section = writeSection(
    'go-build',
    `## The go source: cold build and warm lab

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores ` +
      `(${cpus()[0]?.model ?? 'unknown CPU'}), ${(await $`go version`.nothrow()).stdout.trim() || 'go: not found'}, ` +
      `by \`npm run bench:go-build\`.

| | time |
|---|---:|
| cold build: every module downloaded through GOPROXY, every package compiled | ${seconds(coldMs)} s |
| warm: everything from the cache (checksums verified) | ${seconds(warmMs)} s |

| module | built in (cold) |
|---|---:|
${builds.map((r) => `| \`${r.module}@${r.version}\` | ${r.seconds} s |`).join('\n')}

| warm \`npm run lab\` (${runs} alternating runs) | median | min | max | checks |
|---|---:|---:|---:|---|
| \`--source go\` | ${seconds(median(goMs))} s | ${seconds(Math.min(...goMs))} s | ` +
      `${seconds(Math.max(...goMs))} s | 20 passed |
| \`--source apt\` | ${seconds(median(aptMs))} s | ${seconds(Math.min(...aptMs))} s | ` +
      `${seconds(Math.max(...aptMs))} s | 15 passed, 5 skipped (no nerdctl) |

The go lab does more than the apt lab: 20 checks to its 15 (nerdctl's five), the release tarballs
unpacked with the lesson's own \`tar xzvofC\` (about 2 s of gzip; the apt lab copies Debian's
unpacked binaries), and the real podinfo pulled (a 10 MB layer, twice: nerdctl's namespace and the
bridge probe's own).`,
  );
  console.log(section);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
