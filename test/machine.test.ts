// The machine lab, as root: the lesson walked exactly as written inside a throwaway Debian machine
// with systemd as its init (systemd-nspawn), then verify over ssh with the `lesson` profile on the
// finished machine (all pass, nothing changes in it), the mistakes of the catalogue that need
// systemd, a class of machines graded over ssh, and nothing left on the host.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { APT_CACHE } from '../helpers/sources/apt-source.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { freeLoopbackPort } from '../helpers/offline/registry.ts';
import { stopProcess } from '../helpers/offline/supervisor.ts';
import { lessonCheck } from './support/cli.ts';
import { failing } from './support/reports.ts';
import { MACHINE_MISTAKES, expectTheMistakeAlone } from './mistakes.ts';
import {
  type HostTraces,
  type KeptMachine,
  expectLessonWalked,
  inMachine,
  keepMachine,
  machineTraces,
  snapshotMachine,
} from './machine-helpers.ts';
import { AS_ROOT, DEBOOTSTRAP, NSPAWN, needs } from './support/requirements.ts';

/** A throwaway machine: root, systemd-nspawn and debootstrap. */
const machine = needs(AS_ROOT, NSPAWN, DEBOOTSTRAP);

machine.describe('a throwaway systemd machine', { timeout: 300_000 }, () => {
  let before: HostTraces;
  let finished: KeptMachine;
  const verify = (m: KeptMachine, ...args: string[]) =>
    lessonCheck(['verify', '--target', m.target, ...args], { LC_SSH_CONFIG: m.sshConfig });

  beforeAll(async () => {
    before = await machineTraces();
    finished = await keepMachine();
  }, 900_000);
  afterAll(async () => {
    await lessonCheck(['machine', '--down']);
  }, 120_000);

  test("the walkthrough inside passes all 20 checks, each step the lesson's own command, with systemd", () => {
    const { commands } = expectLessonWalked(finished.run);
    expect(commands('C1')).toMatch(/^tar xzvofC \S+\/containerd-2\.2\.1-linux-\w+\.tar\.gz \/usr\/local$/m);
    expect(commands('R2')).toMatch(/^install -D -m 755 \S+\/runc\.\w+ \/usr\/local\/sbin\/runc$/m);
    expect(commands('K1')).toMatch(/^tar xzvofC \S+\/cni-plugins-linux-\w+-v1\.9\.0\.tgz \/opt\/cni\/bin$/m);
    // the lesson's image names, pulled as written: ghcr.io, answered by the machine's own registry
    expect(commands('C3')).toMatch(
      new RegExp(
        String.raw`^\S*\/ctr --address \/run\/containerd\/containerd\.sock images pull ` +
          String.raw`ghcr\.io\/sagikazarmark\/docker-hello-world:latest$`,
        'm',
      ),
    );
  });

  test('verify over ssh with the lesson profile: all 20 pass, and nothing in the machine changes', async () => {
    const snap = await snapshotMachine(finished.state);
    const run = await verify(finished);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
    expect(await snapshotMachine(finished.state)).toEqual(snap);
  });

  // the mistakes of the catalogue (test/mistakes.ts) that need systemd: unit states, daemon-reload
  describe('each mistake that needs systemd fails its checks alone, with a cause that names it', () => {
    beforeAll(() => {
      // Debian 12's own runc package, unpacked by the apt source: a real distribution runc
      const rootfs = join(finished.state.dir, 'rootfs');
      writeFileSync(
        join(rootfs, 'opt/lesson-check/distro-runc'),
        readFileSync(join(APT_CACHE, 'unpacked/runc/usr/sbin/runc')),
        { mode: 0o755 },
      );
    });
    for (const m of MACHINE_MISTAKES) {
      test(m.mistake, async () => {
        await inMachine(finished.state, m.make);
        let run;
        try {
          run = await lessonCheck(['grade', '--target', finished.target], { LC_SSH_CONFIG: finished.sshConfig });
        } finally {
          await inMachine(finished.state, m.undo);
        }
        expectTheMistakeAlone(run.report, m, run.output);
      });
    }
  });

  test('a class of three machines graded over ssh: finished, unfinished, powered off', async () => {
    const [unfinished, off] = await Promise.all([keepMachine(['--until', 'R2']), keepMachine(['--until', 'H4'])]);
    await stopProcess(off.state.nspawnPid!, 20_000);
    const dir = mkdtempSync(join(tmpdir(), 'lc-machines-'));
    const inventory = join(dir, 'class.ini');
    const machines = { 'student-a': finished, 'student-b': unfinished, 'student-c': off };
    writeFileSync(
      inventory,
      [
        '[class]',
        ...Object.entries(machines).map(
          ([name, m]) =>
            `${name} ansible_host=${m.state.ip} ansible_user=root ` +
            `ansible_ssh_private_key_file=${m.state.dir}/id_ed25519`,
        ),
        '',
      ].join('\n'),
    );
    // each machine's host key pinned, as its own ssh_config does
    const config = join(dir, 'ssh_config');
    writeFileSync(
      config,
      `Host *\n  UserKnownHostsFile ${Object.values(machines)
        .map((m) => `${m.state.dir}/known_hosts`)
        .join(' ')}\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n`,
    );
    const run = await lessonCheck(['grade', '--inventory', inventory, '--parallel', '3'], { LC_SSH_CONFIG: config });
    expect(run.exitCode, run.output).toBe(1);
    const runs = (JSON.parse(readFileSync(join(run.reportsDir, 'results.json'), 'utf8')) as { runs: RunReport[] }).runs;
    expect(runs.map((r) => r.host)).toEqual(['student-a', 'student-b', 'student-c']);
    expect(failing(runs[0])).toEqual([]);
    // walked up to R2: no config.toml, no nerdctl, no CNI plugins
    expect(failing(runs[1])).toEqual(expect.arrayContaining(['R3', 'N1', 'K1']));
    expect(runs[1]!.grade!.percent).toBeLessThan(100);
    expect(runs[2]!.checks.every((c) => c.state === 'error' && /host unreachable/.test(c.observed ?? ''))).toBe(true);
    const csv = readFileSync(join(run.reportsDir, 'gradebook.csv'), 'utf8').trim().split('\r\n');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['student-a', 'student-b', 'student-c']);
    const junit = readFileSync(join(run.reportsDir, 'junit.xml'), 'utf8');
    for (const name of Object.keys(machines)) expect(junit).toContain(`name="${name} 10 containerd"`);
    rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  test('--down removes every machine: no nspawn, mount, veth, cgroup or machine folder is left', async () => {
    const down = await lessonCheck(['machine', '--down']);
    expect(down.exitCode, down.output).toBe(0);
    expect(await machineTraces()).toEqual(before);
  });

  test('Ctrl-C while the machine boots or walks still removes it: exit 130', async () => {
    let sent = false;
    const run = await lessonCheck(['machine'], {}, (output, pid) => {
      if (!sent && /machine lc-\w+ booted/.test(output)) {
        sent = true;
        process.kill(-pid, 'SIGINT');
      }
    });
    expect(sent, run.output).toBe(true);
    expect(run.exitCode, run.output).toBe(130);
    expect(run.output).toMatch(/machine lc-\w+ removed/);
    expect(await machineTraces()).toEqual(before);
  });
});

describe('lesson-check machine: bad input is one clear line, exit 2', () => {
  needs(AS_ROOT).test('no systemd-nspawn on PATH', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'lc-path-'));
    await execa('ln', ['-s', '/bin/sh', join(bin, 'sh')]);
    const run = await lessonCheck(['machine'], { PATH: bin });
    expect(run.exitCode, run.output).toBe(2);
    expect(run.output).toMatch(
      new RegExp(
        String.raw`^lesson-check machine: could not boot the machine: ` +
          String.raw`systemd-nspawn not found: install Debian's systemd-container`,
        'm',
      ),
    );
  });

  machine.test(
    'a Debian mirror that does not answer, with no cached rootfs',
    async () => {
      const before = await machineTraces();
      const cache = mkdtempSync(join(tmpdir(), 'lc-machine-cache-'));
      const run = await lessonCheck(['machine'], {
        LC_MACHINE_CACHE_DIR: cache,
        LC_DEBIAN_MIRROR: `http://127.0.0.1:${await freeLoopbackPort()}/debian`,
      });
      expect(run.exitCode, run.output).toBe(2);
      expect(run.output).toMatch(
        /could not boot the machine: debootstrap bookworm from http:\/\/127\.0\.0\.1:\d+\/debian failed: /,
      );
      expect(await machineTraces()).toEqual(before);
    },
    120_000,
  );

  // setpriv to nobody needs root
  needs(AS_ROOT).test('not root', async () => {
    const run = await execa(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        join(import.meta.dirname, '../bin/lesson-check.js'),
        'machine',
      ],
      { reject: false, cwd: tmpdir() },
    );
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^lesson-check machine: must run as root/m);
  });

  test('--until without --keep is a usage error', async () => {
    const run = await lessonCheck(['machine', '--until', 'R3']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('--until goes with --keep');
  });
});
