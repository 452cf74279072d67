#!/usr/bin/env node
// npm run bench:machine [-- --runs N]: what the machine lab costs against the sandbox lab. Times
// the machine's rootfs made cold (debootstrap from Debian's mirror into an empty cache), then
// `lesson-check machine` (boot, the walkthrough inside with systemd, teardown) against
// `npm run lab` (the sandbox), warm and alternating; writes the figures into bench/RESULTS.md
// between its machine markers (npm run bench keeps them).
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { median, seconds as secondsTo, timed, writeSection, CLI, ROOT } from './lib.mjs';

$.verbose = false;
const runs = Number(argv.runs ?? 3);

const seconds = (ms) => secondsTo(ms, 1);

const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-machine-bench-'));
try {
  console.log('bench: a machine from an empty rootfs cache (debootstrap)…');
  const coldMs = await timed(
    $({
      env: { ...process.env, LC_MACHINE_CACHE_DIR: join(scratch, 'cache') },
    })`${CLI} machine --reports ${mkdtempSync(join(scratch, 'r-'))}`.nothrow(),
  );
  const machine = () => $`${CLI} machine --reports ${mkdtempSync(join(scratch, 'r-'))}`;
  const lab = () => $`npm run --silent --prefix ${ROOT} lab -- --quiet --reports ${mkdtempSync(join(scratch, 'r-'))}`;
  await machine();
  await lab();
  const machineMs = [];
  const labMs = [];
  for (let i = 0; i < runs; i++) {
    machineMs.push(await timed(machine()));
    labMs.push(await timed(lab()));
    console.log(
      `  run ${i + 1}/${runs}: machine ${seconds(machineMs.at(-1))} s, sandbox lab ${seconds(labMs.at(-1))} s`,
    );
  }
  const section = writeSection(
    'machine',
    `## The machine lab against the sandbox lab

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores ` +
      `(${cpus()[0]?.model ?? 'unknown CPU'}), by \`npm run bench:machine\`; both with the go source (cached).

| | median | min | max |
|---|---:|---:|---:|
| \`lesson-check machine\`, cold (the Debian rootfs debootstrapped first) | ${seconds(coldMs)} s | | |
| \`lesson-check machine\`, warm: copy the rootfs, boot systemd, the walkthrough inside, shut down ` +
      `| ${seconds(median(machineMs))} s | ${seconds(Math.min(...machineMs))} s | ${seconds(Math.max(...machineMs))} s |
| \`npm run lab\`, warm: the sandbox under a prefix, a supervised containerd ` +
      `| ${seconds(median(labMs))} s | ${seconds(Math.min(...labMs))} s | ${seconds(Math.max(...labMs))} s |`,
  );
  console.log(section);
} finally {
  await $`${CLI} machine --down`.nothrow();
  rmSync(scratch, { recursive: true, force: true });
}
