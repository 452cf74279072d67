/**
 * `lesson-check machine`: the lesson exactly as written, on a throwaway Debian machine with
 * systemd as its init (systemd-nspawn). It boots one, runs `walkthrough` inside it — the lesson's
 * own commands at the lesson's own paths, `systemctl` and all — from the lesson's release assets
 * (github, go or dir:), copies the reports out, and tears the machine down; or, with --keep,
 * leaves it up (finished, or stopped after a given check with --until) and says how to reach it
 * over ssh with the `lesson` profile. `--down` removes every machine left up.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Host } from '../host.ts';
import { fetchAptArtifacts } from '../sources/apt-source.ts';
import { consoleProgress, during, showProgress } from '../progress.ts';
import { copyAssetsTo } from '../sources/github-source.ts';
import type { PodinfoBuild } from '../sources/go-source.ts';
import { resolveRelease } from '../sources/release.ts';
import { type SourceSpec, sourceName } from '../sources/source-spec.ts';
import { LocalTransport } from '../transport.ts';
import { trapSignals } from '../signals.ts';
import { INSIDE, Machine, MACHINES_ROOT } from '../machine/machine.ts';
import { machineDirs, teardownMachine } from '../machine/teardown.ts';
import { REPORTS, SOURCE, UsageError, noPositionals, parseOptions, parseUntil, sourceOption } from './options.ts';

const MACHINE_USAGE = `usage: lesson-check machine [--source github|go|dir:DIR] [--mirror URL] [--pin P]
                              [--reports DIR] [--keep [--until ID]]
       lesson-check machine --down`;

/** Exit code: the walkthrough's inside (0, 1), or 2 for usage and setup errors, 128 + the
 * signal's number when ended by one. */
export async function machineCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(
    'machine',
    args,
    {
      ...SOURCE,
      ...REPORTS,
      keep: { type: 'boolean', default: false },
      until: { type: 'string' },
      down: { type: 'boolean', default: false },
    },
    MACHINE_USAGE,
  );
  noPositionals('machine', positionals, MACHINE_USAGE);
  const source = sourceOption(opts, 'auto', MACHINE_USAGE);
  if (source.kind === 'apt')
    throw new UsageError(
      "the walkthrough installs the lesson's release assets: --source github, go or dir:DIR",
      MACHINE_USAGE,
    );
  const only = parseUntil(opts.until, opts.keep, 'a machine', MACHINE_USAGE);
  const host = new Host(new LocalTransport());
  if (opts.down) return down(host);
  showProgress(consoleProgress({ format: 'pretty', quiet: false }));
  if (process.getuid?.() !== 0) {
    console.error('lesson-check machine: must run as root (it boots a container with systemd-nspawn and makes a veth)');
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
  let machine: Machine | undefined;
  let keep = false;
  try {
    let prepared: Prepared;
    try {
      machine = await Machine.prepare(host);
      const dir = machine.state.dir;
      prepared = await during("gathering the lesson's assets", () => prepareAssets(host, source, join(dir, 'assets')), {
        atOnce: true,
      });
      const t0 = Date.now();
      const { rootfsFromCache } = await during(`booting machine ${machine.state.name}`, () =>
        machine!.boot({
          assetsDir: prepared.assetsDir,
          registryBinary: prepared.registry,
          busybox: prepared.busybox,
          podinfo: prepared.podinfo,
        }),
      );
      console.log(
        `lesson-check: machine ${machine.state.name} booted at ${machine.state.ip} ` +
          `in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
          `(Debian rootfs ${rootfsFromCache ? 'from the cache' : 'debootstrapped'}; ` +
          `the lesson's assets from source ${prepared.source})`,
      );
    } catch (e) {
      if (signals.signalled()) return signals.exitCode();
      console.error(`lesson-check machine: could not boot the machine: ${(e as Error).message}`);
      return 2;
    }
    // the walkthrough inside, as the lesson's CI would run it on a fresh VM
    if (!machine.leaderPid()) {
      console.error(
        `lesson-check machine: machine ${machine.state.name} stopped before the walk: ` +
          `see ${join(machine.state.dir, 'console.log')}`,
      );
      return 2;
    }
    const argv = machine.enterArgv(
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
      mkdirSync(reportsDir, { recursive: true });
      const inside = join(machine.state.dir, 'reports');
      if (existsSync(inside))
        for (const f of readdirSync(inside)) cpSync(join(inside, f), join(reportsDir, f), { recursive: true });
    } catch (e) {
      copyError = `the reports could not be written to ${reportsDir}: ${(e as Error).message}`;
    }
    if (signals.signalled()) return signals.exitCode();
    if (copyError) {
      console.error(`lesson-check: ${copyError}`);
      return 2;
    }
    keep = opts.keep;
    if (keep) {
      const m = machine.state;
      process.stderr.write(
        [
          `lesson-check: machine ${m.name} kept up${only ? `, walked up to ${only.at(-1)}` : ''}: ${machine.target}`,
          `  check it with: LC_SSH_CONFIG=${machine.sshConfig} lesson-check verify --target ${machine.target}`,
          `  enter it with: ssh -F ${machine.sshConfig} ${m.ip}`,
          '  remove it with: lesson-check machine --down',
          '',
        ].join('\n'),
      );
    }
    return code;
  } finally {
    if (machine && !keep) {
      const torn = await teardownMachine(new Host(new LocalTransport()), machine.state.dir);
      console.log(
        `lesson-check: machine ${torn.name} removed (${torn.processes} processes killed, ${torn.mounts} mounts, ` +
          `${torn.cgroups} cgroups; folder ${torn.removed ? 'removed' : 'NOT removed'})`,
      );
    }
    signals.release();
  }
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
    const torn = await teardownMachine(host, dir);
    console.log(
      `lesson-check: machine ${torn.name} removed (${torn.processes} processes killed, ${torn.cgroups} cgroups)`,
    );
  }
  if (dirs.length === 0) console.log(`lesson-check: no machines to remove (${MACHINES_ROOT})`);
  return 0;
}
