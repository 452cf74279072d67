/**
 * `lesson-check lab`: builds a private sandbox (a supervised containerd under a prefix), walks the
 * lesson on it through the stage suites, writes the reports and tears the sandbox down — on
 * success, failure and Ctrl-C alike; `--keep` leaves it up, `--down` removes labs left up.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Host } from '../host/host.ts';
import { Lab } from '../lab/lab.ts';
import { FAULTS, type Fault, LABS_ROOT } from '../lab/lab-state.ts';
import { sourceName } from '../sources/source-spec.ts';
import { isAlive } from '../offline/supervisor.ts';
import { removeRuntimeLeftovers, teardownLab } from '../lab/teardown.ts';
import { loadProfile } from '../profile.ts';
import { consoleProgress, during, showProgress, takeStepTimings } from '../util/progress.ts';
import type { RunInfo } from '../run/run.ts';
import { removeNamespace } from '../run/run-traces.ts';
import { runSuites } from '../suite-run/runner.ts';
import type { SuiteControl } from '../suite-run/suite-runner.ts';
import { trapSignals } from '../run/signals.ts';
import { LocalTransport } from '../host/transport.ts';
import { summarize } from './end-of-run.ts';
import {
  CONSOLE,
  PROFILE,
  REPORTS,
  UsageError,
  consoleOptions,
  noPositionals,
  parseOptions,
  parseUntil,
  sourceOption,
  sourceOptions,
} from './options.ts';
import { runLabel } from '../run/run-label.ts';
import { CHECK_EXITS, ENV, declareCommand } from './usage.ts';

export const LAB_COMMAND = declareCommand({
  name: 'lab',
  synopsis: [
    'lab [--source auto|github|go|apt|dir:DIR] [--mirror URL] [--insecure-mirror] [--pin P] [--reports DIR] ' +
      '[--format pretty|plain|json] [--quiet] [--verbose] [--keep [--until ID]]',
    'lab --down [--profile FILE]',
  ],
  about:
    'As root: builds a private sandbox (a supervised containerd, runc and the CNI plugins under a prefix), ' +
    'walks the lesson on it step by step, writes the reports and tears the sandbox down, on success, failure ' +
    'and Ctrl-C alike. The lesson exactly as written, with systemd: the machine command.',
  options: {
    ...sourceOptions('default auto: github if cached, else go, else apt'),
    ...REPORTS,
    ...CONSOLE,
    keep: { type: 'boolean', default: false, help: 'leave the lab up afterwards, and print its profile file' },
    // a lab left mid-lesson, after that check: where a student would be (the coach's tests)
    until: { type: 'string', arg: 'ID', help: 'with --keep: walk only as far as that check (a lab left mid-lesson)' },
    down: { type: 'boolean', default: false, help: 'remove every lab left up (by --keep or by a killed run)' },
    profile: {
      ...PROFILE.profile,
      arg: 'FILE',
      help: "with --down: only this profile file's lab (default: lesson, every lab)",
    },
    fault: {
      type: 'string',
      multiple: true,
      default: [],
      hidden: true,
      help: "for the project's own tests: build the lab with a student's mistake in it",
    },
  },
  writes:
    'in --reports DIR: junit.xml, results.json, summary.md, report.html, lab-setup.log; the lab under ' +
    'LC_LABS_ROOT, gone after the run unless --keep; the caches, kept for the next run',
  exits: `${CHECK_EXITS}; --down: 0`,
  env: [ENV.labs, ENV.aptCache, ENV.githubCache, ENV.goCache, ENV.go, ENV.console, ENV.stepSummary, ENV.bundleCache],
});

export async function labCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(LAB_COMMAND, args);
  noPositionals('lab', positionals);
  const out = consoleOptions(opts);
  showProgress(consoleProgress(opts));
  if (process.getuid?.() !== 0) {
    console.error('lesson-check lab: must run as root (it runs containerd, mounts, and creates network namespaces)');
    return 2;
  }
  const host = new Host(new LocalTransport());
  if (opts.down) return await labDown(host, opts.profile === 'lesson' ? undefined : loadProfile(opts.profile).prefix);
  const faults = opts.fault;
  for (const f of faults)
    if (!FAULTS.includes(f as Fault)) throw new UsageError(`unknown --fault ${f} (known: ${FAULTS.join(', ')})`);
  const reportsDir = resolve(opts.reports);
  const source = sourceOption(opts, 'auto');
  const only = parseUntil(opts.until, opts.keep, 'a lab');

  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  const suites: SuiteControl = {};
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping the walk and tearing the lab down`);
    interrupt.abort();
    suites.stop?.(sig);
  });

  const t0 = Date.now();
  let lab: Lab | undefined;
  try {
    try {
      lab = Lab.prepare(host, { faults: faults as Fault[], source });
      await during('setting up the lab', () => lab!.setUp(), { atOnce: true });
    } catch (e) {
      if (signals.signalled()) return signals.exitCode();
      console.error(`lesson-check lab: could not set up the lab: ${(e as Error).message}`);
      writeSetupLog(reportsDir, host);
      return 2;
    }
    const setupMs = Date.now() - t0;
    const cached = lab.fromCache ? 'cache reused' : 'fetched';
    const took = `set up in ${(setupMs / 1000).toFixed(1)} s`;
    out.info(
      `lesson-check: lab ${lab.id} at ${lab.state.prefix} (source ${sourceName(lab.state.source)}, ${cached}; ${took})`,
    );
    for (const line of lab.state.sourceChoice) out.info(`lesson-check: ${line}`);
    // the sandbox is the default: twice as fast as a machine, and it needs no debootstrap or nspawn
    out.info(
      'lesson-check: the sandbox lab (a supervised containerd under a prefix); ' +
        'the lesson exactly as written, with systemd: `lesson-check machine`',
    );
    writeSetupLog(reportsDir, host);
    if (signals.signalled()) return signals.exitCode();

    // the lab is its own run: its id is the lab's, and its teardown its sweep
    const info: RunInfo = {
      runId: lab.id,
      mode: 'lab',
      host: 'local',
      profileFile: lab.state.profileFile,
      labStateFile: lab.stateFile,
      only,
      reportsDir,
      console: { format: out.format, quiet: out.quiet },
      startedAt: new Date().toISOString(),
      setup: { ms: setupMs, fromCache: lab.fromCache, steps: takeStepTimings() },
    };
    const { report, walkMs, writeError } = await runSuites(info, join(lab.state.prefix, 'lab', 'run'), suites);
    if (signals.signalled()) return signals.exitCode();
    out.info(`lesson-check: walk ${(walkMs / 1000).toFixed(1)} s`);
    const code = summarize(report, reportsDir, out, writeError);
    // the lab's own parts, not the lesson's: a registry that stopped is a setup error
    const registry = lab.state.registry;
    if (registry && !isAlive(registry.pid)) {
      console.error(
        `lesson-check lab: the lab's registry (${registry.url}, PID ${registry.pid}) stopped during the walk, ` +
          `so pulls failed for the lab's sake, not the lesson's: see ${join(lab.state.prefix, 'lab', 'registry.log')}`,
      );
      return 2;
    }
    return code;
  } finally {
    if (lab && opts.keep && !signals.signalled()) {
      // the walk's own containerd namespace (the bridge probe's podinfo) is not the lesson's
      const kept = new Host(new LocalTransport());
      await removeNamespace(kept, loadProfile(lab.state.profileFile), runLabel(lab.id)).catch(() => undefined);
      // the kept lab's profile is the point of --keep: said even with --quiet
      const file = lab.state.profileFile;
      process.stderr.write(
        `lesson-check: lab kept up${only ? `, walked up to ${only.at(-1)}` : ''}; its profile: ${file}\n` +
          `  check it with: lesson-check verify --profile ${file}\n` +
          '  remove it with: lesson-check lab --down\n',
      );
    } else if (lab) {
      const t1 = Date.now();
      const torn = await teardownLab(new Host(new LocalTransport()), lab.state.prefix);
      const removed = [
        `${torn.processes} processes killed`,
        `${torn.mounts} mounts`,
        `${torn.netns.length} netns`,
        `${torn.links.length} links`,
        `${torn.hostTraces.length} host dirs`,
      ].join(', ');
      const took = `${((Date.now() - t1) / 1000).toFixed(1)} s`;
      const prefix = torn.removed ? 'removed' : 'NOT removed';
      out.info(`lesson-check: lab ${lab.id} torn down in ${took} (${removed}; prefix ${prefix})`);
    }
    signals.release();
  }
}

/** Removes every lab under LABS_ROOT, or just the one whose prefix is given. */
async function labDown(host: Host, only?: string): Promise<number> {
  const labs = only ? [only.split('/').pop()!] : existsSync(LABS_ROOT) ? readdirSync(LABS_ROOT) : [];
  for (const id of labs) {
    const torn = await teardownLab(host, join(LABS_ROOT, id));
    console.log(`lesson-check: lab ${id} removed (${torn.processes} processes, ${torn.mounts} mounts)`);
  }
  // what labs whose prefix is already gone left in the host's /run/containerd
  const orphans = only ? [] : removeRuntimeLeftovers(LABS_ROOT);
  if (orphans.length)
    console.log(`lesson-check: removed ${orphans.length} runc state folders and shim sockets of labs already gone`);
  if (labs.length === 0 && orphans.length === 0) console.log('lesson-check: no labs to remove');
  return 0;
}

/** The lab's set-up commands (apt, registry, images) as a transcript beside the reports; where
 * the reports cannot be written, the end of the run says so. */
function writeSetupLog(reportsDir: string, host: Host): void {
  const lines = host
    .takeTranscript()
    .map((e) => `$ ${e.command}  # ${e.outcome}${e.exitCode ? `\n${e.stderr.trimEnd()}` : ''}`);
  try {
    mkdirSync(reportsDir, { recursive: true });
    writeFileSync(join(reportsDir, 'lab-setup.log'), `${lines.join('\n')}\n`, { flag: 'a' });
  } catch {
    // the reports' own writing names the folder and why
  }
}
