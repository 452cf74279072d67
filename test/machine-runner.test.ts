// A host laid out like GitHub's ubuntu-24.04 runner, in a throwaway systemd machine: a
// distribution's containerd running as containerd.service from /usr/bin, its own
// /etc/containerd/config.toml (containerd.io ships one), and runc in /usr/bin and /usr/local/bin.
// Without --set-aside-leftovers the walkthrough refuses in one line naming them and the flag;
// with it, it walks the lesson, passes every check, and leaves files, units and services as they were.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Host } from '../helpers/host/host.ts';
import { APT_CACHE } from '../helpers/sources/apt-source.ts';
import { INSIDE, Machine } from '../helpers/machine/machine.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { lessonCheck } from './support/cli.ts';
import { type KeptMachine, inMachine, keepMachine } from './machine-helpers.ts';
import { AS_ROOT, DEBOOTSTRAP, NSPAWN, needs } from './support/requirements.ts';

const machine = needs(AS_ROOT, NSPAWN, DEBOOTSTRAP);

const RUNNER_CONFIG = '# containerd.io\ndisabled_plugins = ["cri"]\n';
// Type=notify, as the package's unit: `systemctl start` returns once containerd serves. (Without it
// the runner's state was once read while containerd was still starting, before it had made its
// task folders: the walk was then blamed for them, a flake of this test.)
const PACKAGE_UNIT = `[Unit]
Description=containerd container runtime, as a distribution package runs it
[Service]
ExecStart=/usr/bin/containerd
Type=notify
Delegate=yes
KillMode=process
[Install]
WantedBy=multi-user.target
`;

/** The walkthrough inside the machine, as the lesson workflow runs it on a runner. */
async function walkthrough(m: KeptMachine, ...flags: string[]) {
  const machine = Machine.open(new Host(new LocalTransport()), m.state.dir);
  const bin = join(INSIDE.app, 'bin/lesson-check.js');
  const args = ['walkthrough', '--yes', '--source', `dir:${INSIDE.assets}`, '--reports', INSIDE.reports, ...flags];
  const [file, ...rest] = machine.enterArgv([INSIDE.node, bin, ...args], { CI: 'true', NO_COLOR: '1' });
  return execa(file!, rest, { reject: false, all: true });
}

/** The runner as the walk must leave it: the files where the lesson installs and keeps state (name,
 * size, mode; the folders by name), the unit files and the services running. */
const runnerState = async (m: KeptMachine) => ({
  files: await inMachine(
    m.state,
    'find /etc/containerd /etc/systemd/system /etc/cni /etc/bash_completion.d /usr/local /usr/bin/runc ' +
      '/usr/bin/containerd /opt /var/lib/containerd /var/lib/nerdctl /var/lib/cni -xdev -maxdepth 3 ' +
      // the harness's own folder (assets, reports) is not the runner's
      '-path /opt/lesson-check -prune -o ' +
      '\\( -type d -printf "%p/\\n" \\) -o -printf "%p %s %m\\n" 2>/dev/null | sort; true',
  ),
  config: await inMachine(m.state, 'md5sum /etc/containerd/config.toml'),
  units: await inMachine(m.state, 'systemctl list-unit-files --no-legend "containerd*" "docker*" | sort'),
  running: await inMachine(
    m.state,
    'systemctl list-units --no-legend --state=active "containerd*" "docker*" | cut -d" " -f1 | sort; ' +
      'readlink /proc/$(systemctl show -p MainPID --value containerd)/exe',
  ),
});

machine.describe("a host laid out like GitHub's runner", { timeout: 600_000 }, () => {
  let m: KeptMachine;

  beforeAll(async () => {
    // booted, and walked no further than the host checks (they install nothing)
    m = await keepMachine(['--until', 'H4']);
    const rootfs = join(m.state.dir, 'rootfs');
    const put = async (path: string, from: string) => {
      await execa('install', ['-D', '-m', '755', from, join(rootfs, path)]);
    };
    await put('usr/bin/containerd', join(APT_CACHE, 'unpacked/containerd/usr/bin/containerd'));
    await put('usr/bin/runc', join(APT_CACHE, 'unpacked/runc/usr/sbin/runc'));
    await put('usr/local/bin/runc', join(APT_CACHE, 'unpacked/runc/usr/sbin/runc'));
    mkdirSync(join(rootfs, 'etc/containerd'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/containerd/config.toml'), RUNNER_CONFIG);
    writeFileSync(join(rootfs, 'lib/systemd/system/containerd.service'), PACKAGE_UNIT);
    await inMachine(
      m.state,
      'systemctl daemon-reload && systemctl enable --now containerd.service && test -S /run/containerd/containerd.sock',
    );
  }, 900_000);
  afterAll(async () => {
    await lessonCheck(['machine', '--down']);
  }, 120_000);

  test('without --set-aside-leftovers: exit 2, one line naming what was found and the flag', async () => {
    const r = await walkthrough(m);
    expect(r.exitCode, r.all).toBe(2);
    const lines = r.all.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const found of ['/etc/containerd/config.toml', '/usr/bin/runc', '/usr/local/bin/runc', 'containerd.service'])
      expect(lines[0]).toContain(found);
    expect(lines[0]).toContain('--set-aside-leftovers');
  });

  test("with it: every check passes, and the runner's files, units and running services are as before", async () => {
    const before = await runnerState(m);
    const r = await walkthrough(m, '--set-aside-leftovers');
    expect(r.exitCode, r.all).toBe(0);
    const report = JSON.parse(readFileSync(join(m.state.dir, 'reports/results.json'), 'utf8')) as RunReport;
    expect(report.checks.filter((c) => c.state !== 'passed').map((c) => c.id)).toEqual([]);
    expect(report.checks).toHaveLength(20);
    expect(r.all).toMatch(/set aside for the walk: containerd\.service \(stopped\)/);
    expect(await runnerState(m)).toEqual(before);
    expect(await inMachine(m.state, 'cat /etc/containerd/config.toml')).toBe(RUNNER_CONFIG.trimEnd());
  });
});
