// The lesson on a real VM, as root: `lesson-check machine --vm --release trixie|bookworm` boots
// Debian 13 or 12 with its own kernel (cgroup v2 only; systemd 257 or 252) under QEMU, walks the
// lesson inside as written — daemon-reload, enable --now, the restart after config.toml — and all
// 20 checks pass; verify over ssh with the `lesson` profile passes and changes nothing in the
// guest; the guest has no route but QEMU's forwards; `machine --down` leaves nothing of the VM on
// this host: no QEMU, no folder, no listening port. On Debian 13, also: the sandbox lab passes
// inside, and every ending mid-boot leaves nothing (SIGKILL, then `machine --down`).
import { createConnection } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { Host } from '../helpers/host/host.ts';
import { INSIDE } from '../helpers/machine/machine.ts';
import type { VmRelease } from '../helpers/machine/vm-image.ts';
import { APT_CACHE, fetchAptArtifacts } from '../helpers/sources/apt-source.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { lessonCheck } from './support/cli.ts';
import {
  type HostTraces,
  type KeptVm,
  expectLessonWalked,
  inVm,
  keepVm,
  machineTraces,
  snapshotVm,
} from './machine-helpers.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, DEBOOTSTRAP, QEMU, SOCAT, needs } from './support/requirements.ts';

/** A VM: root, QEMU, socat (its registry's forward) and debootstrap (its image). */
const withQemu = needs(AS_ROOT, QEMU, SOCAT, DEBOOTSTRAP);

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

const booting = (p: string) => p.includes('qemu-system') && p.includes('root.qcow2');
/** What `machine --vm` prints once the guest is up. */
const BOOTED = /VM lc-\w+ \(Debian \w+, its own kernel\) booted in/;

/** `machine --vm` started, once its QEMU runs (in an object: the process itself is a promise);
 * it fails when QEMU never starts, the CLI killed and the VM removed. */
async function bootingVm() {
  const child = execa('node', [join(import.meta.dirname, '../bin/lesson-check.js'), 'machine', '--vm'], {
    reject: false,
    all: true,
  });
  try {
    await eventually(
      'QEMU of `machine --vm` running',
      async () => (await machineTraces()).processes.some(booting),
      180_000,
      {
        intervalMs: 200,
        hopeless: () => (child.exitCode !== null ? `machine --vm exited ${child.exitCode}` : undefined),
        observe: async () => (await machineTraces()).processes,
      },
    );
  } catch (e) {
    child.kill('SIGKILL');
    const said = (await child).all;
    await lessonCheck(['machine', '--down']);
    throw new Error(`${e instanceof Error ? e.message : String(e)}\nmachine --vm said:\n${said}`, { cause: e });
  }
  return { child };
}

interface Debian {
  release: VmRelease;
  version: number;
  systemd: number;
}
const TRIXIE: Debian = { release: 'trixie', version: 13, systemd: 257 };
const BOOKWORM: Debian = { release: 'bookworm', version: 12, systemd: 252 };

/** A kept VM and this host's traces from before it, for the tests of one describe block. */
interface VmContext {
  vm: KeptVm;
  before: HostTraces;
}

/**
 * What every release's VM must show — the walkthrough passes inside on cgroup v2 with the
 * release's own systemd and kernel, verify over ssh passes and changes nothing, the guest has no
 * route beyond QEMU's forwards, `machine --down` leaves nothing — with `whileUp` tests before the
 * VM goes down and `afterDown` ones after.
 */
function describeVm(
  debian: Debian,
  more: { whileUp?: (ctx: VmContext) => void; afterDown?: (ctx: VmContext) => void } = {},
) {
  const title = `the lesson on a Debian ${debian.version} VM with its own kernel`;
  withQemu.describe(title, { timeout: 300_000 }, () => {
    const ctx = {} as VmContext;

    beforeAll(async () => {
      ctx.before = await machineTraces();
      ctx.vm = await keepVm(['--release', debian.release]);
    }, 1_800_000);
    afterAll(async () => {
      await lessonCheck(['machine', '--down']);
    }, 120_000);

    test(`the walkthrough inside passes all 20 checks, with systemd ${debian.systemd} on cgroup v2`, async () => {
      const { vm } = ctx;
      expectLessonWalked(vm.run);
      expect(vm.run.output).toMatch(
        new RegExp(`VM lc-\\w+ \\(Debian ${debian.release}, its own kernel\\) booted in [\\d.]+ s with (KVM|TCG): `),
      );
      expect(await inVm(vm, 'stat -fc %T /sys/fs/cgroup')).toBe('cgroup2fs');
      expect(await inVm(vm, 'systemctl --version | head -1')).toMatch(new RegExp(`^systemd ${debian.systemd} `));
      expect(await inVm(vm, 'cut -d. -f1 /etc/debian_version')).toBe(String(debian.version));
      // its own kernel: Debian's of that release, not this host's
      expect(await inVm(vm, 'uname -r')).not.toBe((await execa('uname', ['-r'])).stdout);
      // nerdctl's podinfo in a systemd scope: the systemd cgroup driver on v2
      expect(await inVm(vm, 'cat /proc/$(pgrep -x podinfo | head -1)/cgroup')).toMatch(
        /^0::\/system\.slice\/nerdctl-\w+\.scope$/m,
      );
    });

    test('verify over ssh with the lesson profile: all 20 pass, and nothing in the guest changes', async () => {
      const { vm } = ctx;
      const snap = await snapshotVm(vm);
      const run = await lessonCheck(['verify', '--target', vm.target], { LC_SSH_CONFIG: vm.sshConfig });
      expect(run.exitCode, run.output).toBe(0);
      expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
      expect(await snapshotVm(vm)).toEqual(snap);
    });

    test('the guest has no route beyond its own link: only QEMU forwards reach out', async () => {
      const { vm } = ctx;
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

    more.whileUp?.(ctx);

    test('machine --down stops QEMU and removes its folder; its port closes; nothing is left', async () => {
      const { vm, before } = ctx;
      expect(await listening(vm.state.sshPort)).toBe(true);
      const down = await lessonCheck(['machine', '--down']);
      expect(down.exitCode, down.output).toBe(0);
      expect(down.output).toContain(`VM ${vm.state.name} removed (QEMU stopped`);
      expect(await listening(vm.state.sshPort)).toBe(false);
      expect(await machineTraces()).toEqual(before);
    });

    more.afterDown?.(ctx);
  });
}

describeVm(TRIXIE, {
  whileUp: (ctx) => {
    test(
      'the sandbox lab inside the guest, from forwarding off in a namespace of its own: 20 pass on cgroup v2, ' +
        'and forwarding, runc states and shim sockets are left as they were',
      async () => {
        const { vm } = ctx;
        // the lab's registry and busybox are Debian's packages, which the guest cannot fetch: this
        // host's, unpacked, copied in at the same paths (the lab takes them from its cache)
        await fetchAptArtifacts(new Host(new LocalTransport()));
        const apt = APT_CACHE.replace(/^\//, '');
        const copy = await execa(
          'sh',
          [
            '-c',
            `tar -C / -cf - ${apt}/artifacts.json ${apt}/unpacked | ` +
              `ssh -F "$1" -o BatchMode=yes 127.0.0.1 'tar -C / -xf -'`,
            'sh',
            vm.sshConfig,
          ],
          { reject: false },
        );
        expect(copy.exitCode, copy.stderr).toBe(0);
        const script = [
          'ip link set lo up; sysctl -qw net.ipv4.ip_forward=0',
          // forwarding, runc's state folders (every namespace) and the shims' sockets
          'traces() { echo "$(cat /proc/sys/net/ipv4/ip_forward) ' +
            '$(ls -d /run/containerd/runc/*/*/ 2>/dev/null | wc -l) $(ls /run/containerd/s 2>/dev/null | wc -l)"; }',
          'echo "before $(traces)"',
          `LC_CACHE_DIR=${APT_CACHE} ${INSIDE.node} ${INSIDE.app}/bin/lesson-check.js lab ` +
            `--source dir:${INSIDE.assets} ` +
            '--reports /tmp/lc-vm-lab > /tmp/lc-vm-lab.log 2>&1; echo "lab $?"',
          'echo "after $(traces)"',
        ].join('\n');
        const out = await inVm(
          vm,
          `echo ${Buffer.from(script).toString('base64')} | base64 -d > /tmp/lc-vm-lab.sh && ` +
            'unshare -n sh /tmp/lc-vm-lab.sh',
        );
        const [beforeLine, labLine, afterLine] = out.split('\n');
        expect(labLine, await inVm(vm, 'cat /tmp/lc-vm-lab.log')).toBe('lab 0');
        expect(beforeLine).toMatch(/^before 0 \d+ \d+$/);
        expect(afterLine).toBe(beforeLine!.replace('before', 'after'));
        const report = JSON.parse(await inVm(vm, 'cat /tmp/lc-vm-lab/results.json')) as RunReport;
        expect(report.mode).toBe('lab');
        expect(report.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
        // the lab's podinfo ran under the guest's cgroup v2 hierarchy: nothing of it is left there
        expect(await inVm(vm, 'ls /var/lib/lesson-check/labs 2>/dev/null | wc -l')).toBe('0');
      },
    );
  },
  afterDown: (ctx) => {
    test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
      '%s mid-boot stops QEMU and removes the VM: nothing is left, no --down needed',
      async (signal) => {
        const { child } = await bootingVm();
        child.kill(signal);
        const ended = await child;
        // QEMU ran, and the guest had not yet booted: the signal came mid-boot
        expect(ended.all, 'booted before the signal').not.toMatch(BOOTED);
        expect(ended.exitCode, ended.all).toBe(128 + osConstants.signals[signal]);
        expect(await machineTraces()).toEqual(ctx.before);
      },
    );

    test('a VM killed outright mid-boot (SIGKILL) is removed by machine --down', async () => {
      // killed once the VM's QEMU runs: the CLI had no chance to remove anything
      const { child } = await bootingVm();
      child.kill('SIGKILL');
      const ended = await child;
      expect(ended.all, 'booted before the signal').not.toMatch(BOOTED);
      expect((await machineTraces()).processes.some(booting)).toBe(true);
      const down = await lessonCheck(['machine', '--down']);
      expect(down.exitCode, down.output).toBe(0);
      expect(down.output).toMatch(/VM lc-\w+ removed \(QEMU stopped/);
      expect(await machineTraces()).toEqual(ctx.before);
    });
  },
});

// Debian 12: the same lesson on systemd 252 and Debian 12's kernel
describeVm(BOOKWORM);
