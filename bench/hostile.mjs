// What hostile hosts cost the grader: `grade --inventory` of 8 honest hosts against a class of 8
// in which 2 flood their output (60 MB counted; without end) and 2 stall (one byte a second; every
// command answered after 25 s, 29 s when the figures in bench/RESULTS.md were taken), over ssh on
// loopback, each class on one kept lab. Measured: the class's wall time, the honest hosts' own
// times, and the peak memory of the controller (the CLI, its hosts' suite processes and their ssh
// clients: the process tree, sampled every 100 ms).
// Run as root: `npm run bench:hostile` (node --import tsx, for the tests' class helper).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { join } from 'node:path';
import { CLI, ROOT, median, seconds, writeSection } from './lib.mjs';

const { hostileClass } = await import('../test/hostile-class.ts');
const { keepLab, removeLab } = await import('../test/support/labs.ts');
const { loadProfile } = await import('../helpers/profile.ts');

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const HOST_TIMEOUT_S = 60;
const honest = (n) => Array.from({ length: n }, (_, i) => ({ name: `honest-${i + 1}`, does: 'honest' }));
const CLASSES = {
  'honest ×8': honest(8),
  'honest ×4, flood ×2, stall ×2': [
    ...honest(4),
    { name: 'flood', does: 'flood' },
    { name: 'flood-forever', does: 'flood-forever' },
    { name: 'trickle', does: 'trickle' },
    { name: 'slow', does: 'slow' },
  ],
};

/** RSS in kB of `root` and all its descendants, summed, and of the largest of them. */
function treeRss(root) {
  const parent = new Map();
  const rss = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      rss.set(pid, Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0));
    } catch {
      // gone while we looked
    }
  }
  const inTree = (pid) => {
    for (let p = pid; p && p !== '0'; p = parent.get(p)) if (p === String(root)) return true;
    return false;
  };
  const sizes = [...rss].filter(([pid]) => inTree(pid)).map(([, kb]) => kb);
  return { sum: sizes.reduce((a, b) => a + b, 0), largest: Math.max(0, ...sizes) };
}

/** One grade of a class: wall time, peak tree RSS, each host's duration. */
function gradeClass(inventory, env) {
  const reports = mkdtempSync(join(tmpdir(), 'lc-bench-hostile-'));
  const args = ['grade', '--inventory', inventory, '--parallel', '8', '--host-timeout', String(HOST_TIMEOUT_S)];
  const started = performance.now();
  const child = spawn(CLI[0], [...CLI.slice(1), ...args, '--reports', reports], {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
  let peak = { sum: 0, largest: 0 };
  const sampler = setInterval(() => {
    const now = treeRss(child.pid);
    peak = { sum: Math.max(peak.sum, now.sum), largest: Math.max(peak.largest, now.largest) };
  }, 100);
  return new Promise((done) =>
    child.once('exit', (code) => {
      clearInterval(sampler);
      const wallMs = performance.now() - started;
      const runs = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')).runs;
      const honestMs = runs.filter((r) => r.host.startsWith('honest-')).map((r) => r.durationMs);
      done({ code, wallMs, peak, honestMs: Math.max(...honestMs) });
    }),
  );
}

const profile = await keepLab();
const rows = [];
try {
  const classes = [];
  for (const [name, hosts] of Object.entries(CLASSES)) classes.push({ name, cls: await hostileClass(profile, hosts) });
  const results = new Map(classes.map((c) => [c.name, []]));
  // alternating, so that neither class always runs on a warmer machine
  for (let round = 0; round < ROUNDS; round++)
    for (const { name, cls } of classes) {
      const r = await gradeClass(cls.inventory, cls.env);
      results.get(name).push(r);
      console.log(`${name}: exit ${r.code}, ${seconds(r.wallMs, 1)} s, peak ${(r.peak.sum / 1024).toFixed(0)} MB`);
    }
  for (const { name, cls } of classes) {
    const rs = results.get(name);
    rows.push(
      `| ${name} | ${seconds(median(rs.map((r) => r.wallMs)), 1)} s | ` +
        `${seconds(median(rs.map((r) => r.honestMs)), 1)} s | ` +
        `${(median(rs.map((r) => r.peak.sum)) / 1024).toFixed(0)} MB | ` +
        `${(median(rs.map((r) => r.peak.largest)) / 1024).toFixed(0)} MB |`,
    );
    await cls.stop();
  }
} finally {
  await removeLab(loadProfile(profile).prefix);
}
const body = [
  '## Hostile hosts: what a class with flooding and stalling hosts costs the grader',
  '',
  `\`grade --inventory … --parallel 8 --host-timeout ${HOST_TIMEOUT_S}\` over ssh on loopback, one kept lab behind`,
  `every host, median of ${ROUNDS} alternating rounds. Peak memory: the controller's process tree (the CLI, one`,
  'suite process per host, their ssh clients), sampled every 100 ms.',
  '',
  '| class | wall time | slowest honest host | peak memory (tree) | largest process |',
  '|---|---:|---:|---:|---:|',
  ...rows,
].join('\n');
console.log(`\n${writeSection('hostile', body)}`);
