#!/usr/bin/env node
// npm run bench:coach [-- --runs N]: the coach's budgets, on a kept lab: locally, over ssh on
// loopback (Debian's sshd, the tests' helper), and the grader's board of 8 hosts (the same lab
// eight times over ssh). How long a change on the host (runc made 0644, then mended) takes to
// show on the output (piped: one line per change), and what an idle coach or board costs: its
// CPU time and its reaped children's (the `stat`s, the ssh clients) over IDLE_S seconds, as a
// share of one core. Writes bench/RESULTS.md (coach markers). Run as root, with tsx (package.json).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, ROOT, median, seconds, writeSection } from './lib.mjs';

const { startSshd } = await import('../test/sshd.ts');
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

/** Busy CPU seconds of the whole machine so far (every core), from /proc/stat: what the coach
 * costs on both sides of an ssh connection (its sshd sessions are not its children). */
function machineBusySeconds() {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** The machine's busy share of one core over IDLE_S seconds. */
async function machineIdle() {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  return (machineBusySeconds() - busy0) / ((performance.now() - t0) / 1000);
}

const kept = await run(['lab', '--keep', '--reports', '/tmp/lc-bench-coach-lab']);
if (kept.code !== 0) throw new Error(`lab --keep failed:\n${kept.out}`);
const profileFile = /its profile: (\S+)/.exec(kept.out)[1];
const prefix = profileFile.replace(/\/profile\.toml$/, '');
const runc = join(prefix, 'usr/local/sbin/runc');

/** One watcher (`args`), measured: idle cost, then `runs` breaks and mends; `broken` and
 * `complete` are its lines for them. */
async function measure(args, env, broken, complete) {
  let output = '';
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const sees = async (pattern, from, count = 1) => {
    const deadline = performance.now() + 120_000;
    for (;;) {
      if ((output.slice(from).match(new RegExp(pattern, 'g')) ?? []).length >= count) return performance.now();
      if (performance.now() > deadline) throw new Error(`${args[0]} did not print ${pattern} in 120 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await sees(complete, 0, args.includes('--inventory') ? 8 : 1);
    const t0 = performance.now();
    const cpu0 = cpuSeconds(child.pid);
    const machine = await machineIdle();
    const idle = (cpuSeconds(child.pid) - cpu0) / ((performance.now() - t0) / 1000);
    const broke = [];
    const mended = [];
    const hosts = args.includes('--inventory') ? 8 : 1;
    for (let i = 0; i < runs; i++) {
      let from = output.length;
      let start = performance.now();
      chmodSync(runc, 0o644);
      broke.push((await sees(broken, from, hosts)) - start);
      from = output.length;
      start = performance.now();
      chmodSync(runc, 0o755);
      mended.push((await sees(complete, from, hosts)) - start);
    }
    return { idle, machine, broke, mended };
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('close', r));
  }
}

const sshd = await startSshd();
// the machine with the lab up and nothing watching it: what a watcher adds is measured from here
const baseline = await machineIdle();
try {
  const config = join(mkdtempSync(join(tmpdir(), 'lc-bench-coach-')), 'ssh_config');
  writeFileSync(config, `Host *\n  IdentityFile ${sshd.key}\n${readFileSync(sshd.config, 'utf8')}`);
  const inventory = join(mkdtempSync(join(tmpdir(), 'lc-bench-board-')), 'class.ini');
  writeFileSync(
    inventory,
    [
      '[class]',
      ...Array.from({ length: 8 }, (_, i) => `host-${i + 1} ansible_host=127.0.0.1 ansible_port=${sshd.port}`),
      '[class:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${sshd.key}`,
      `lesson_check_profile=${profileFile}`,
      '',
    ].join('\n'),
  );
  const target = `ssh://root@127.0.0.1:${sshd.port}`;
  const rows = [
    [
      'the coach, here',
      await measure(
        ['coach', '--profile', profileFile, '--reports', '/tmp/lc-bench-coach'],
        {},
        'broken: Install runc',
        'all sections complete',
      ),
    ],
    [
      'the coach, over ssh on loopback',
      await measure(
        ['coach', '--profile', profileFile, '--target', target, '--reports', '/tmp/lc-bench-coach-ssh'],
        { LC_SSH_CONFIG: config },
        'broken: Install runc',
        'all sections complete',
      ),
    ],
    [
      'the board, 8 hosts over ssh (the last host shown)',
      await measure(
        ['grade', '--inventory', inventory, '--watch', '--reports', '/tmp/lc-bench-board'],
        { LC_SSH_CONFIG: config },
        'broken: Install runc',
        'all sections complete',
      ),
    ],
  ];
  const body = [
    '## The coach and the class board (npm run bench:coach)',
    '',
    `One kept lab; the coach or board piped; runc made 0644 then mended, ${runs} times each; idle cost`,
    `over ${IDLE_S} s as a share of one core: the watcher's process and its reaped children, and the`,
    `whole machine over its own idle (${(baseline * 100).toFixed(2)} % with the lab up and nothing watching:`,
    `both ends of the ssh connection, sshd's sessions included); ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| watcher | 0644 → "broken" shown (median, worst) | mended → "complete" shown (median, worst) | ' +
      'idle CPU: watcher | idle CPU: machine |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      ([what, r]) =>
        `| ${what} | ${seconds(median(r.broke))} s, ${seconds(Math.max(...r.broke))} s | ` +
        `${seconds(median(r.mended))} s, ${seconds(Math.max(...r.mended))} s | ${(r.idle * 100).toFixed(2)} % | ` +
        `${((r.machine - baseline) * 100).toFixed(2)} % |`,
    ),
    '',
  ].join('\n');
  console.log(writeSection('coach', body));
} finally {
  await sshd.stop();
  await run(['lab', '--down']);
}
