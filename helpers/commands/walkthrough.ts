import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Host } from '../host/host.ts';
import type { ReleaseFiles } from '../sources/github-source.ts';
import { resolveRelease } from '../sources/release.ts';
import { consoleProgress, showProgress } from '../util/progress.ts';
import { SystemWalk, findLeftovers, leftoversRefusal } from '../walk/system-walk.ts';
import { lessonProfile, profileToml } from '../profile.ts';
import { HostRun } from '../suite-run/lifecycle.ts';
import { runSuites } from '../suite-run/runner.ts';
import type { SuiteControl } from '../suite-run/suite-runner.ts';
import { trapSignals } from '../run/signals.ts';
import { LocalTransport } from '../host/transport.ts';
import { summarize } from './end-of-run.ts';
import {
  CONSOLE,
  REPORTS,
  UsageError,
  consoleOptions,
  noPositionals,
  parseOnly,
  parseOptions,
  sourceOption,
  sourceOptions,
} from './options.ts';
import { CHECK_EXITS, ENV, declareCommand } from './usage.ts';

export const WALKTHROUGH_COMMAND = declareCommand({
  name: 'walkthrough',
  synopsis: [
    'walkthrough --yes [--source github|go|dir:DIR] [--mirror URL] [--insecure-mirror] [--pin P] ' +
      '[--set-aside-leftovers] [--only ID,ID] [--reports DIR] [--format pretty|plain|json] [--quiet] [--verbose]',
  ],
  about:
    "The lesson's steps on THIS host, at its paths, with systemd, from its release assets, asserting every " +
    'state before and after each step. It changes system paths: only with --yes, as root, with systemd as ' +
    "init, on a host without the lesson's files (a throwaway VM). Without systemd: the machine command.",
  options: {
    yes: { type: 'boolean', default: false, help: "yes, install the lesson into this host's /usr/local, /etc, /opt" },
    ...sourceOptions('where the release assets come from (default: github)'),
    'set-aside-leftovers': {
      type: 'boolean',
      default: false,
      help:
        "a VM with a runtime (Docker's): its services stopped, its runc, config and state set aside for " +
        'the walk; then the walk undone, those put back and the services started again',
    },
    only: { type: 'string', arg: 'ID,ID', help: 'walk only as far as these checks' },
    ...REPORTS,
    ...CONSOLE,
  },
  writes:
    "in --reports DIR: junit.xml, results.json, summary.md, report.html; on this host: the lesson's install, " +
    'which it leaves (with --set-aside-leftovers: removes)',
  exits: CHECK_EXITS,
  env: [ENV.ci, ENV.githubCache, ENV.goCache, ENV.go, ENV.console, ENV.stepSummary],
});

/** `lesson-check walkthrough`: the lesson on this very host, at the lesson's paths, with systemd. */
export async function walkthroughCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(WALKTHROUGH_COMMAND, args);
  noPositionals('walkthrough', positionals);
  const out = consoleOptions(opts);
  showProgress(consoleProgress(opts));
  if (!opts.yes && process.env.CI !== 'true') {
    console.error(
      'lesson-check walkthrough: it installs containerd, runc, nerdctl and the CNI plugins into /usr/local, /etc ' +
        'and /opt of THIS host; say --yes (CI=true implies it), or use `npm run lab` for a private sandbox',
    );
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('lesson-check walkthrough: must run as root (the lesson uses sudo)');
    return 2;
  }
  // sd_booted(): systemd runs as init exactly when this directory exists
  if (!existsSync('/run/systemd/system')) {
    const init = readFileSync('/proc/1/comm', 'utf8').trim();
    console.error(
      `lesson-check walkthrough: systemd is not this host's init (PID 1 is ${init}); ` +
        'the lesson runs containerd as a systemd service. Use `npm run lab` here.',
    );
    return 2;
  }
  const source = sourceOption(opts, 'github');
  if (source.kind === 'apt' || source.kind === 'auto')
    throw new UsageError("the walkthrough installs the lesson's release assets: --source github, go or dir:DIR");
  const host = new Host(new LocalTransport());
  const profile = lessonProfile();
  profile.versions = { ...source.versions };

  const leftovers = await findLeftovers(host, profile);
  const refusal = leftoversRefusal(leftovers, opts['set-aside-leftovers']);
  if (refusal) {
    console.error(`lesson-check walkthrough: ${refusal}`);
    return 2;
  }

  const run = new HostRun(host, 'walkthrough');
  const runDir = run.dir;
  const reportsDir = resolve(opts.reports);
  const suites: SuiteControl = {};
  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping the walk`);
    interrupt.abort();
    suites.stop?.(sig);
  });
  let walk: SystemWalk | undefined;
  try {
    let release: ReleaseFiles;
    try {
      ({ release } = await resolveRelease(host, source, { apt: false, mayLack: [] }));
    } catch (e) {
      if (signals.signalled()) return signals.exitCode();
      console.error(`lesson-check walkthrough: cannot get the lesson's assets: ${(e as Error).message}`);
      return 2;
    }
    profile.provenance = { source: release.source, standInImages: false, podinfo: '', notes: release.notes };
    const profileFile = join(runDir, 'profile.toml');
    writeFileSync(
      profileFile,
      profileToml(profile, ['the lesson profile, with the versions this walkthrough installs']),
    );
    walk = SystemWalk.create(join(runDir, 'walk.json'), { release, workDir: runDir, setAside: [] }, host, profile);
    const found = [...leftovers.otherConfigs, ...leftovers.runcOnPath, ...leftovers.services];
    if (opts['set-aside-leftovers'] && found.length) {
      await walk.setAside(leftovers);
      out.info(
        `lesson-check: set aside for the walk: ${[
          ...leftovers.services.map((s) => s.replace(' is active', ' (stopped)')),
          ...leftovers.runcOnPath,
          ...leftovers.otherConfigs,
        ].join(', ')}`,
      );
    }
    // --only: the walk goes as far as the checks asked for (a machine left unfinished on purpose)
    const info = run.describe({
      host: 'local',
      profileFile,
      walkStateFile: join(runDir, 'walk.json'),
      only: parseOnly(opts.only),
      reportsDir,
      console: { format: out.format, quiet: out.quiet },
    });
    const { report, writeError } = await runSuites(info, run.suitesDir, suites);
    if (signals.signalled()) return signals.exitCode();
    return summarize(report, reportsDir, out, writeError);
  } finally {
    // a walk on the real host: sweep everything, always (an interrupt cancels no cleanup), while
    // the walk's containerd still answers; then what was set aside goes back
    host.signal = undefined;
    await run.end(profile, {
      probesCutShort: true,
      before: async () => {
        const restored = (await walk?.putBack()) ?? [];
        if (restored.length) out.info(`lesson-check: put back: ${restored.join(', ')}`);
      },
    });
    signals.release();
  }
}
