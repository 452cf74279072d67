// The lesson on a real VM, as root: `lesson-check machine --vm --release trixie` boots Debian 13
// with its own kernel (cgroup v2 only, systemd 257) under QEMU, walks the lesson inside as
// written — daemon-reload, enable --now, the restart after config.toml — and all 20 checks pass;
// verify over ssh with the `lesson` profile passes and changes nothing in the guest; the guest has
// no route but QEMU's forwards; a VM killed outright is removed by `machine --down`; and nothing
// of any VM is left on this host: no QEMU, no folder, no listening port.
import { createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/catalogue.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { check, lessonCheck } from './lab-helpers.ts';
import { type HostTraces, type KeptVm, inVm, keepVm, machineTraces, snapshotVm } from './machine-helpers.ts';

const asRoot = process.getuid?.() === 0;
const qemu =
  asRoot &&
  (
    await execa('sh', ['-c', 'command -v qemu-system-x86_64 && command -v socat && command -v debootstrap'], {
      reject: false,
    })
  ).exitCode === 0;

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

describe.runIf(qemu)('the lesson on a Debian 13 VM with its own kernel', { timeout: 300_000 }, () => {
  let before: HostTraces;
  let vm: KeptVm;

  beforeAll(async () => {
    before = await machineTraces();
    vm = await keepVm(['--release', 'trixie']);
  }, 1_800_000);
  afterAll(async () => {
    await lessonCheck(['machine', '--down']);
  }, 120_000);

  test('the walkthrough inside passes all 20 checks, with systemd 257 on cgroup v2', async () => {
    const { run } = vm;
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(/VM lc-\w+ \(Debian trixie, its own kernel\) booted in [\d.]+ s with (KVM|TCG): /);
    const report = JSON.parse(readFileSync(join(run.reportsDir, 'results.json'), 'utf8')) as RunReport;
    expect(report).toMatchObject({ mode: 'walkthrough', profile: 'lesson' });
    expect(report.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
    const commands = (id: string) =>
      check(report, id)
        .transcript.map((e) => e.command)
        .join('\n');
    expect(commands('C2')).toMatch(/^systemctl daemon-reload$/m);
    expect(commands('C2')).toMatch(/^systemctl enable --now containerd$/m);
    expect(commands('R5')).toMatch(/^systemctl restart containerd$/m);
    expect(await inVm(vm, 'stat -fc %T /sys/fs/cgroup')).toBe('cgroup2fs');
    expect(await inVm(vm, 'systemctl --version | head -1')).toMatch(/^systemd 257 /);
    // its own kernel: Debian 13's, not this host's
    expect(await inVm(vm, 'uname -r')).not.toBe((await execa('uname', ['-r'])).stdout);
    // nerdctl's podinfo in a systemd scope: the systemd cgroup driver on v2
    expect(await inVm(vm, 'cat /proc/$(pgrep -x podinfo | head -1)/cgroup')).toMatch(
      /^0::\/system\.slice\/nerdctl-\w+\.scope$/m,
    );
  });

  test('the guest has no route beyond its own link: only QEMU forwards reach out', async () => {
    // no default route, no gateway: every route is a link's own (QEMU's, and nerdctl's bridge)
    const routes = (await inVm(vm, 'ip -4 route')).split('\n').map((r) => r.trim());
    expect(routes).toContain('10.0.2.0/24 dev eth0 proto kernel scope link src 10.0.2.15');
    for (const route of routes) expect(route).toMatch(/^\S+ dev \S+ proto kernel scope link src \S+$/);
    // QEMU's gateway (this host) is not reachable from the guest with restrict=on
    const reach = await execa(
      'ssh',
      ['-F', vm.sshConfig, '-o', 'BatchMode=yes', '127.0.0.1', 'curl -sS -m 5 http://10.0.2.2:22/'],
      {
        reject: false,
      },
    );
    expect(reach.exitCode).not.toBe(0);
  });

  test('verify over ssh with the lesson profile: all 20 pass, and nothing in the guest changes', async () => {
    const snap = await snapshotVm(vm);
    const run = await lessonCheck(['verify', '--target', vm.target], { LC_SSH_CONFIG: vm.sshConfig });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
    expect(await snapshotVm(vm)).toEqual(snap);
  });

  test('machine --down stops QEMU and removes its folder; its port closes; nothing is left', async () => {
    expect(await listening(vm.state.sshPort)).toBe(true);
    const down = await lessonCheck(['machine', '--down']);
    expect(down.exitCode, down.output).toBe(0);
    expect(down.output).toContain(`VM ${vm.state.name} removed (QEMU stopped`);
    expect(await listening(vm.state.sshPort)).toBe(false);
    expect(await machineTraces()).toEqual(before);
  });

  test('a VM killed outright mid-boot (SIGKILL) is removed by machine --down', async () => {
    const child = execa('node', [join(import.meta.dirname, '../bin/lesson-check.js'), 'machine', '--vm'], {
      reject: false,
      all: true,
    });
    // killed once the VM's QEMU runs: the CLI had no chance to remove anything
    const booting = (p: string) => p.includes('qemu-system') && p.includes('root.qcow2');
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && !(await machineTraces()).processes.some(booting))
      await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await child;
    expect((await machineTraces()).processes.some(booting)).toBe(true);
    const down = await lessonCheck(['machine', '--down']);
    expect(down.exitCode, down.output).toBe(0);
    expect(down.output).toMatch(/VM lc-\w+ removed \(QEMU stopped/);
    expect(await machineTraces()).toEqual(before);
  });
});
