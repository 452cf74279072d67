#!/usr/bin/env node
// npm run bench:coach [-- --runs N]: the coach's budgets, on a kept lab, locally. How long a
// change on the host (runc made 0644, then mended) takes to show on the coach's output (piped:
// one line per change), and what an idle coach costs: its CPU time and its children's (the
// `stat` it compares) over IDLE_S seconds, as a share of one core. Writes bench/RESULTS.md
// (coach markers). Over ssh the coach polls every second instead of every half: add that.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, ROOT, median, seconds, writeSection } from './lib.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const IDLE_S = 30;

function run(args) {
  return new Promise((done) => {
    let out = '';
    const child = spawn(CLI[0], [...CLI.slice(1), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('close', (code) => done({ code, out }));
  });
}

/** CPU seconds of a process and its reaped children, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

const kept = await run(['lab', '--keep', '--reports', '/tmp/lc-bench-coach-lab']);
if (kept.code !== 0) throw new Error(`lab --keep failed:\n${kept.out}`);
const profileFile = /its profile: (\S+)/.exec(kept.out)[1];
const prefix = profileFile.replace(/\/profile\.toml$/, '');
const runc = join(prefix, 'usr/local/sbin/runc');
let output = '';
const coach = spawn(CLI[0], [...CLI.slice(1), 'coach', '--profile', profileFile, '--reports', '/tmp/lc-bench-coach'], {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'pipe'],
});
coach.stdout.on('data', (d) => (output += d));
coach.stderr.on('data', (d) => (output += d));
const sees = async (pattern, from) => {
  for (;;) {
    if (pattern.test(output.slice(from))) return performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
};
try {
  await sees(/all sections complete/, 0);
  const t0 = performance.now();
  const cpu0 = cpuSeconds(coach.pid);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idle = (cpuSeconds(coach.pid) - cpu0) / ((performance.now() - t0) / 1000);
  const broke = [];
  const mended = [];
  for (let i = 0; i < runs; i++) {
    let from = output.length;
    let start = performance.now();
    chmodSync(runc, 0o644);
    broke.push((await sees(/broken: Install runc/, from)) - start);
    from = output.length;
    start = performance.now();
    chmodSync(runc, 0o755);
    mended.push((await sees(/all sections complete/, from)) - start);
  }
  const body = [
    '## The coach (npm run bench:coach)',
    '',
    `A kept lab, the coach piped, ${runs} times each; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| what | median | worst |',
    '|---|---:|---:|',
    `| runc made 0644 → "broken" shown | ${seconds(median(broke))} s | ${seconds(Math.max(...broke))} s |`,
    `| runc mended → "complete" shown | ${seconds(median(mended))} s | ${seconds(Math.max(...mended))} s |`,
    `| idle coach, CPU of one core (${IDLE_S} s) | ${(idle * 100).toFixed(2)} % | |`,
    '',
  ].join('\n');
  console.log(writeSection('coach', body));
} finally {
  coach.kill('SIGINT');
  await new Promise((r) => coach.once('close', r));
  await run(['lab', '--down']);
}
