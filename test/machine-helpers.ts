/** Machines for the tests: kept up with `lesson-check machine --keep` (nspawn, entered with
 * nsenter) or `machine --vm --keep` (entered over its ssh), and what a machine could leave on the
 * host. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { Host } from '../helpers/host/host.ts';
import { MACHINES_ROOT, Machine, type MachineState } from '../helpers/machine/machine.ts';
import type { VmState } from '../helpers/machine/vm.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { type LabRun, lessonCheck } from './support/cli.ts';
import { check } from './support/reports.ts';
import { type HostRuntimeTraces, hostRuntimeTraces } from './support/traces.ts';

/** What every machine's walkthrough must show, nspawn or VM: exit 0, all 20 passed with the
 * lesson profile, and the lesson's systemd steps run as written. Returns the report, and each
 * check's commands as one text. */
export function expectLessonWalked(run: LabRun): { report: RunReport; commands: (id: string) => string } {
  expect(run.exitCode, run.output).toBe(0);
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
  return { report, commands };
}

export interface KeptMachine {
  run: LabRun;
  state: MachineState;
  target: string;
  sshConfig: string;
}

/** `lesson-check machine --keep [ARGS]`: the machine's state, its ssh target and config. */
export async function keepMachine(args: string[] = []): Promise<KeptMachine> {
  const run = await lessonCheck(['machine', '--keep', ...args]);
  const target = /kept up[^:]*: (ssh:\/\/\S+)/.exec(run.output)?.[1];
  const sshConfig = /LC_SSH_CONFIG=(\S+)/.exec(run.output)?.[1];
  if (!target || !sshConfig) throw new Error(`machine --keep failed (exit ${run.exitCode}):\n${run.output}`);
  const state = JSON.parse(readFileSync(join(sshConfig, '../machine.json'), 'utf8')) as MachineState;
  return { run, state, target, sshConfig };
}

/** A shell command inside the machine, as root there would type it; throws when it fails. */
export async function inMachine(state: MachineState, script: string): Promise<string> {
  const [file, ...args] = Machine.open(new Host(new LocalTransport()), state.dir).enterArgv(['sh', '-c', script]);
  const r = await execa(file!, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`in ${state.name}: ${script}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** What verify must leave exactly as it was inside a machine: the lesson's files, the unit's
 * state, containerd's namespaces with their containers, tasks and images, links, nerdctl's state. */
export function snapshotMachine(state: MachineState): Promise<Record<string, string>> {
  return snapshotInside((script) => inMachine(state, script));
}

/** The same, of a VM (over its ssh). */
export function snapshotVm(vm: KeptVm): Promise<Record<string, string>> {
  return snapshotInside((script) => inVm(vm, script));
}

export interface KeptVm {
  run: LabRun;
  state: VmState;
  target: string;
  sshConfig: string;
}

/** `lesson-check machine --vm --keep [ARGS]`: the VM's state, its ssh target and config. */
export async function keepVm(args: string[] = []): Promise<KeptVm> {
  const run = await lessonCheck(['machine', '--vm', '--keep', ...args]);
  const target = /kept up[^:]*: (ssh:\/\/\S+)/.exec(run.output)?.[1];
  const sshConfig = /LC_SSH_CONFIG=(\S+)/.exec(run.output)?.[1];
  if (!target || !sshConfig) throw new Error(`machine --vm --keep failed (exit ${run.exitCode}):\n${run.output}`);
  const state = JSON.parse(readFileSync(join(sshConfig, '../vm.json'), 'utf8')) as VmState;
  return { run, state, target, sshConfig };
}

/** A shell command inside the VM over its ssh, as root there would type it; throws when it fails. */
export async function inVm(vm: KeptVm, script: string): Promise<string> {
  const r = await execa('ssh', ['-F', vm.sshConfig, '-o', 'BatchMode=yes', '127.0.0.1', script], { reject: false });
  if (r.exitCode !== 0) throw new Error(`in ${vm.state.name}: ${script}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

async function snapshotInside(inMachine: (script: string) => Promise<string>): Promise<Record<string, string>> {
  const snap: Record<string, string> = {};
  // files with size and time, but containerd's own databases (they change under any client);
  // folders by name (creating and removing an entry touches a folder)
  snap.files = await inMachine(
    'find /etc /usr/local /opt/cni /var/lib/nerdctl /var/lib/containerd/io.containerd.runtime.v2.task ' +
      '/run/containerd -xdev \\( -type d -printf "%p/ %m\\n" \\) -o \\( -type s -o -type p -o -name "*.db" \\) ' +
      '-o -printf "%p %s %T@ %m\\n" 2>/dev/null | sort',
  );
  snap.unit = await inMachine(
    'systemctl show containerd -p ActiveState -p SubState -p UnitFileState -p MainPID -p ActiveEnterTimestampMonotonic',
  );
  snap.links = await inMachine('ip -o link show | cut -d: -f2 | sort');
  const namespaces = (await inMachine('ctr namespaces ls -q')).split('\n').filter(Boolean);
  snap.namespaces = namespaces.join(',');
  for (const ns of namespaces)
    snap[ns] = await inMachine(`ctr -n ${ns} containers ls; ctr -n ${ns} tasks ls; ctr -n ${ns} images ls -q`);
  return snap;
}

export interface HostTraces {
  machines: string[];
  processes: string[];
  veths: string[];
  cgroups: string[];
  nspawnDirs: string[];
  /** What any run could leave on the host outside its folders (forwarding, runc, shims, cgroups…). */
  host: HostRuntimeTraces;
}

/** Everything of a machine that could outlive it on the host. */
export async function machineTraces(): Promise<HostTraces> {
  const ps = await execa('ps', ['-eo', 'pid=,stat=,args='], { reject: false });
  const processes = ps.stdout
    .split('\n')
    .filter(
      (l) =>
        (l.includes(`${MACHINES_ROOT}/`) || l.includes('systemd-nspawn') || l.includes('qemu-system')) &&
        !/^\s*\d+\s+Z/.test(l),
    );
  const veths = (await execa('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1] ?? '')
    .filter((n) => n.startsWith('ve-lc-'));
  const cgroups = (
    await execa('find', ['/sys/fs/cgroup', '-maxdepth', '2', '-type', 'd', '-name', 'lc-m-*'], { reject: false })
  ).stdout
    .split('\n')
    .filter(Boolean)
    .sort();
  const machines = existsSync(MACHINES_ROOT) ? readdirSync(MACHINES_ROOT) : [];
  const nspawnDirs = existsSync('/run/systemd/nspawn/propagate') ? readdirSync('/run/systemd/nspawn/propagate') : [];
  return { machines, processes, veths, cgroups, nspawnDirs, host: await hostRuntimeTraces() };
}
