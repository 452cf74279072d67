/**
 * `lesson-check machine`: the lesson exactly as written, on a throwaway Debian machine with
 * systemd as its init: a systemd-nspawn container on this host's kernel, or with --vm a QEMU
 * virtual machine with its own kernel (cgroup v2; Debian 12 or 13). It boots one, runs
 * `walkthrough` inside it — the lesson's own commands at the lesson's own paths, `systemctl` and
 * all — from the lesson's release assets
 * (github, go or dir:), copies the reports out, and tears the machine down; or, with --keep,
 * leaves it up (finished, or stopped after a given check with --until) and says how to reach it
 * over ssh with the `lesson` profile. `--down` removes every machine left up.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Host } from '../host/host.ts';
import { fetchAptArtifacts } from '../sources/apt-source.ts';
import { consoleProgress, during, showProgress } from '../util/progress.ts';
import { copyAssetsTo } from '../sources/github-source.ts';
import type { PodinfoBuild } from '../sources/go-source.ts';
import { resolveRelease } from '../sources/release.ts';
import { type SourceSpec, sourceName } from '../sources/source-spec.ts';
import { LocalTransport } from '../host/transport.ts';
import { trapSignals } from '../run/signals.ts';
import { INSIDE, Machine, MACHINES_ROOT } from '../machine/machine.ts';
import { VM_RELEASES, type VmRelease } from '../machine/vm-image.ts';
import { VirtualMachine, readVmState, teardownVm } from '../machine/vm.ts';
import { machineDirs, teardownMachine } from '../machine/teardown.ts';
import {
  REPORTS,
  UsageError,
  noPositionals,
  parseOptions,
  parseUntil,
  sourceOption,
  sourceOptions,
} from './options.ts';
import { CHECK_EXITS, ENV, declareCommand } from './usage.ts';

/** A VM's Debian unless --release says otherwise: the newest stable. */
const DEFAULT_RELEASE: VmRelease = 'trixie';

export const MACHINE_COMMAND = declareCommand({
  name: 'machine',
  synopsis: [
    `machine [--vm [--release ${VM_RELEASES.join('|')}]] [--source github|go|dir:DIR] [--mirror URL] ` +
      '[--insecure-mirror] [--pin P] [--reports DIR] [--keep [--until ID]]',
    'machine --down',
  ],
  about:
    'As root: the walkthrough (the lesson exactly as written, `systemctl` and all) inside a throwaway Debian ' +
    "machine with systemd as init: a systemd-nspawn container on this host's kernel, or with --vm a QEMU VM " +
    'with its own kernel (cgroup v2) on a loopback port. Torn down afterwards, unless --keep.',
  options: {
    vm: {
      type: 'boolean',
      default: false,
      help: 'a QEMU VM with its own kernel, instead of a systemd-nspawn container',
    },
    release: {
      type: 'string',
      arg: VM_RELEASES.join('|'),
      help: `with --vm: the VM's Debian (default: ${DEFAULT_RELEASE})`,
    },
    ...sourceOptions('where the release assets come from (default: github if cached, else go)'),
    ...REPORTS,
    keep: { type: 'boolean', default: false, help: 'leave the machine up, and say how to reach it over ssh' },
    until: { type: 'string', arg: 'ID', help: 'with --keep: walk only as far as that check' },
    down: { type: 'boolean', default: false, help: 'remove every machine left up' },
  },
  writes:
    "in --reports DIR: the walkthrough's junit.xml, results.json, summary.md, report.html; the machine " +
    'under LC_MACHINES_ROOT (gone afterwards unless --keep); its image, cached',
  exits: `the walkthrough's: ${CHECK_EXITS}; --down: 0`,
  env: [
    ENV.machines,
    ENV.machineCache,
    ENV.debianMirror,
    ENV.vmAccel,
    ENV.aptCache,
    ENV.githubCache,
    ENV.goCache,
    ENV.go,
  ],
});

/** A machine booted for the walk, nspawn or VM: what the command needs of either. */
interface BootedMachine {
  name: string;
  /** Whether it still runs (the walk is not started in a machine that stopped). */
  running(): boolean;
  /** Where to look when it stopped. */
  consoleLog: string;
  /** The argv on this host that runs `argv` inside it, with `env`. */
  insideArgv(argv: string[], env: Record<string, string>): string[];
  copyReportsTo(dir: string): Promise<void>;
  keptLines(): string[];
  teardown(): Promise<string>;
}

/** Exit code: the walkthrough's inside (0, 1), or 2 for usage and setup errors, 128 + the
 * signal's number when ended by one. */
export async function machineCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(MACHINE_COMMAND, args);
  noPositionals('machine', positionals);
  const source = sourceOption(opts, 'auto');
  if (source.kind === 'apt')
    throw new UsageError("the walkthrough installs the lesson's release assets: --source github, go or dir:DIR");
  if (opts.release !== undefined && !opts.vm) throw new UsageError("--release chooses a VM's Debian: it needs --vm");
  const release = (opts.release ?? DEFAULT_RELEASE) as VmRelease;
  if (!VM_RELEASES.includes(release))
    throw new UsageError(`--release ${opts.release}: a VM is Debian ${VM_RELEASES.join(' or ')}`);
  const only = parseUntil(opts.until, opts.keep, 'a machine');
  const host = new Host(new LocalTransport());
  if (opts.down) return down(host);
  showProgress(consoleProgress({ format: 'pretty', quiet: false }));
  if (process.getuid?.() !== 0) {
    const why = opts.vm
      ? "it debootstraps the VM's image"
      : 'it boots a container with systemd-nspawn and makes a veth';
    console.error(`lesson-check machine: must run as root (${why})`);
    return 2;
  }

  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  let inner: ReturnType<typeof spawn> | undefined;
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping and removing the machine`);
    interrupt.abort();
    inner?.kill('SIGTERM');
  });
  const reportsDir = resolve(opts.reports);
  let machine: BootedMachine | undefined;
  let teardown: (() => Promise<string>) | undefined;
  let keep = false;
  try {
    try {
      const booting = opts.vm ? bootVm(host, source, release) : bootNspawn(host, source);
      teardown = booting.teardown;
      machine = await booting.booted;
    } catch (e) {
      if (signals.signalled()) return signals.exitCode();
      console.error(`lesson-check machine: could not boot the machine: ${(e as Error).message}`);
      return 2;
    }
    // told to stop as the boot ended: no walk is started (the trap found none to stop)
    if (signals.signalled()) return signals.exitCode();
    // the walkthrough inside, as the lesson's CI would run it on a fresh VM
    if (!machine.running()) {
      console.error(`lesson-check machine: machine ${machine.name} stopped before the walk: see ${machine.consoleLog}`);
      return 2;
    }
    const argv = machine.insideArgv(
      [
        INSIDE.node,
        join(INSIDE.app, 'bin/lesson-check.js'),
        'walkthrough',
        '--yes',
        '--source',
        `dir:${INSIDE.assets}`,
        '--reports',
        INSIDE.reports,
        ...(only ? ['--only', only.join(',')] : []),
      ],
      { CI: 'true', NO_COLOR: '1' },
    );
    inner = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number>((done) => inner!.once('close', (c) => done(c ?? 1)));
    inner = undefined;
    // the reports of what ran, even when a signal cut the walk short
    let copyError: string | undefined;
    try {
      await machine.copyReportsTo(reportsDir);
    } catch (e) {
      copyError = `the reports could not be written to ${reportsDir}: ${(e as Error).message}`;
    }
    if (signals.signalled()) return signals.exitCode();
    if (copyError) {
      console.error(`lesson-check: ${copyError}`);
      return 2;
    }
    keep = opts.keep;
    if (keep)
      process.stderr.write(
        [
          `lesson-check: machine ${machine.name} kept up${only ? `, walked up to ${only.at(-1)}` : ''}: ` +
            machine.keptLines()[0],
          ...machine.keptLines().slice(1),
          '  remove it with: lesson-check machine --down',
          '',
        ].join('\n'),
      );
    return code;
  } finally {
    if (teardown && !keep) console.log(await teardown());
    signals.release();
  }
}

/** The nspawn machine: booted, and how it is removed (known before it boots, so that a boot cut
 * short is removed too). */
function bootNspawn(
  host: Host,
  source: SourceSpec,
): { booted: Promise<BootedMachine>; teardown: () => Promise<string> } {
  let dir: string | undefined;
  const teardown = async () => {
    if (!dir) return 'lesson-check: no machine was made';
    const torn = await teardownMachine(new Host(new LocalTransport()), dir);
    return (
      `lesson-check: machine ${torn.name} removed (${torn.processes} processes killed, ${torn.mounts} mounts, ` +
      `${torn.cgroups} cgroups; folder ${torn.removed ? 'removed' : 'NOT removed'})`
    );
  };
  const booted = (async (): Promise<BootedMachine> => {
    const machine = await Machine.prepare(host);
    dir = machine.state.dir;
    const prepared = await gatherAssets(host, source, join(dir, 'assets'));
    const t0 = Date.now();
    const { rootfsFromCache } = await during(`booting machine ${machine.state.name}`, () =>
      machine.boot({ ...prepared, registryBinary: prepared.registry }),
    );
    console.log(
      `lesson-check: machine ${machine.state.name} booted at ${machine.state.ip} ` +
        `in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
        `(Debian rootfs ${rootfsFromCache ? 'from the cache' : 'debootstrapped'}; ` +
        `the lesson's assets from source ${prepared.source})`,
    );
    return {
      name: machine.state.name,
      running: () => machine.leaderPid() !== undefined,
      consoleLog: join(machine.state.dir, 'console.log'),
      insideArgv: (argv, env) => machine.enterArgv(argv, env),
      copyReportsTo: (to) => {
        mkdirSync(to, { recursive: true });
        const inside = join(machine.state.dir, 'reports');
        if (existsSync(inside))
          for (const f of readdirSync(inside)) cpSync(join(inside, f), join(to, f), { recursive: true });
        return Promise.resolve();
      },
      keptLines: () => [
        machine.target,
        `  check it with: LC_SSH_CONFIG=${machine.sshConfig} lesson-check verify --target ${machine.target}`,
        `  enter it with: ssh -F ${machine.sshConfig} ${machine.state.ip}`,
      ],
      teardown,
    };
  })();
  return { booted, teardown };
}

/** The VM: booted, and how it is removed. */
function bootVm(
  host: Host,
  source: SourceSpec,
  release: VmRelease,
): { booted: Promise<BootedMachine>; teardown: () => Promise<string> } {
  let dir: string | undefined;
  const teardown = async () => {
    if (!dir) return 'lesson-check: no VM was made';
    const torn = await teardownVm(dir);
    return (
      `lesson-check: VM ${torn.name} removed (QEMU stopped, ${torn.processes} processes killed; ` +
      `folder ${torn.removed ? 'removed' : 'NOT removed'})`
    );
  };
  const booted = (async (): Promise<BootedMachine> => {
    const vm = await VirtualMachine.prepare(host, release);
    dir = vm.state.dir;
    const prepared = await gatherAssets(host, source, join(dir, 'assets'));
    const t0 = Date.now();
    const { imageFromCache, accel, bootMs } = await during(`booting VM ${vm.state.name} (Debian ${release})`, () =>
      vm.boot({ ...prepared, registryBinary: prepared.registry }),
    );
    // the boot alone (QEMU to a running systemd), and the whole with the image, disks and registry
    console.log(
      `lesson-check: VM ${vm.state.name} (Debian ${release}, its own kernel) booted in ` +
        `${(bootMs / 1000).toFixed(1)} s with ${accel.kind.toUpperCase()}: ${accel.why} ` +
        `(image ${imageFromCache ? 'from the cache' : 'built'}; ready in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
        `with the image, disks and registry; the lesson's assets from source ${prepared.source}); ` +
        `ssh on 127.0.0.1:${vm.state.sshPort}`,
    );
    return {
      name: vm.state.name,
      running: () => vm.alive(),
      consoleLog: join(vm.state.dir, 'console.log'),
      insideArgv: (argv, env) => vm.sshArgv(argv, env),
      copyReportsTo: (to) => vm.copyReportsTo(to),
      keptLines: () => [
        vm.target,
        `  check it with: LC_SSH_CONFIG=${vm.sshConfig} lesson-check verify --target ${vm.target}`,
        `  enter it with: ssh -F ${vm.sshConfig} 127.0.0.1`,
      ],
      teardown,
    };
  })();
  return { booted, teardown };
}

/** The lesson's assets, said while gathered. */
function gatherAssets(host: Host, source: SourceSpec, dir: string): Promise<Prepared> {
  return during("gathering the lesson's assets", () => prepareAssets(host, source, dir), { atOnce: true });
}

interface Prepared {
  source: string;
  assetsDir: string;
  registry: string;
  busybox: string;
  podinfo?: PodinfoBuild;
}

/** The lesson's release assets as a folder the machine mounts, and the lab's registry and images. */
async function prepareAssets(host: Host, spec: SourceSpec, dir: string): Promise<Prepared> {
  const apt = await fetchAptArtifacts(host);
  // the default, as the lab's, but without Debian's packages: the walkthrough installs release assets
  const { source, release, podinfo } = await resolveRelease(host, spec, { apt: false, mayLack: [] });
  copyAssetsTo(release, dir);
  return {
    source: sourceName(source),
    assetsDir: dir,
    registry: apt.files.registry,
    busybox: apt.files.busybox,
    podinfo,
  };
}

async function down(host: Host): Promise<number> {
  const dirs = machineDirs();
  for (const dir of dirs) {
    if (readVmState(dir)) {
      const torn = await teardownVm(dir);
      console.log(`lesson-check: VM ${torn.name} removed (QEMU stopped, ${torn.processes} processes killed)`);
      continue;
    }
    const torn = await teardownMachine(host, dir);
    console.log(
      `lesson-check: machine ${torn.name} removed (${torn.processes} processes killed, ${torn.cgroups} cgroups)`,
    );
  }
  if (dirs.length === 0) console.log(`lesson-check: no machines to remove (${MACHINES_ROOT})`);
  return 0;
}
