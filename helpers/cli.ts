/**
 * lesson-check's command line.
 *   lab     builds a private sandbox, walks the lesson on it through the stage suites, writes the
 *           reports and tears the sandbox down (on success, failure and Ctrl-C alike)
 *   verify  inspects a finished host without changing it
 *   grade   verify, plus a score and a hint per failure that points at the lesson
 * The suites run in vitest, started in this process (a fleet's hosts: one child each); this
 * process owns set-up, teardown and signals.
 * Exit codes: 0 all passed, 1 checks failed, 2 usage or setup error, 128 + the signal's number
 * when ended by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOGUE } from './catalogue.ts';
import { probesCutShort, removeRunTraces } from './run-traces.ts';
import { cleanDeadRuns, forgetRun, recordRun } from './run-records.ts';
import { Host } from './host.ts';
import { FAULTS, type Fault, LABS_ROOT, Lab, type SourceSpec, parseSource, sourceName } from './lab/lab.ts';
import { teardownLab } from './lab/teardown.ts';
import { isAlive } from './lab/supervisor.ts';
import { type ReleaseFiles, copyAssetsTo, fetchGithubAssets, readDirAssets } from './lab/github-source.ts';
import { buildGoAssets, copyPodinfoTo } from './lab/go-source.ts';
import { SystemWalk, findLeftovers } from './lab/system-walk.ts';
import { ProfileError, lessonProfile, loadProfile, profileFileFor, profileToml } from './profile.ts';
import { consoleStyle, renderSummary } from './reporters/console.ts';
import { type CheckResult, type RunReport, countStates, gradeHint, gradeOf } from './reporters/model.ts';
import { REPORT_FILES } from './reporters/write.ts';
import type { Mode, RunInfo } from './run.ts';
import { type ConsoleOptions, type SuiteControl, runSuites } from './runner.ts';
import { checkFleet } from './fleet.ts';
import {
  InventoryError,
  type TargetHost,
  limitHosts,
  readInventory,
  shardHosts,
  targetsFromUrls,
} from './inventory.ts';
import { GRADEBOOK, runsOf, tryWriteReports, writeReports } from './reporters/write.ts';
import { LocalTransport } from './transport.ts';
import { mark } from './timing.ts';
import { trapSignals } from './signals.ts';
import { ROOT } from './root.ts';

const USAGE = `usage: lesson-check lab [--source auto|github|go|apt|dir:DIR] [--mirror URL] [--pin P] [--reports DIR] [--keep]
       lesson-check lab --down [--profile FILE]
       lesson-check verify [--profile lesson|FILE] [--reports DIR] [--only ID,ID]
       lesson-check grade  [--profile lesson|FILE] [--reports DIR] [--only ID,ID]
       lesson-check grade  --inventory FILE | --target ssh://[user@]host[:port] …
                           [--limit PATTERN] [--parallel N] [--shard i/n] [--reports DIR]
       lesson-check merge DIR… [--reports OUT]
       lesson-check verify --list
       lesson-check fetch --to DIR [--source github|go] [--mirror URL] [--pin P]
       lesson-check walkthrough --yes [--source github|go|dir:DIR] [--mirror URL] [--pin P]
                                [--set-aside-leftovers] [--reports DIR]
       lesson-check machine [--source github|go|dir:DIR] [--reports DIR] [--keep [--until ID]]
       lesson-check machine --down
       lesson-check clean

  lab           build a private sandbox, walk the containerd lesson on it end to end, tear it down
  verify        check a finished host as the lesson left it, changing nothing
  grade         verify, with a score and a hint per failure
  --profile     'lesson' (the lesson's real paths and pins; the default) or a profile TOML file,
                such as the one \`lab --keep\` prints
  --reports DIR where the reports go (default: reports/): junit.xml, results.json,
                summary.md (also appended to $GITHUB_STEP_SUMMARY), report.html, grade.json
  --only IDS    run only these checks (comma-separated IDs)
  --target URL  a host to check over ssh (repeatable): ssh://[user@]host[:port]; the OpenSSH
                client's own config, agent and known_hosts apply; not root: sudo -n
  --inventory F an Ansible inventory (INI or YAML): ansible_host, ansible_user, ansible_port,
                ansible_ssh_private_key_file, and lesson_check_profile (a profile file here)
  --limit P     hosts or groups to check, as Ansible's --limit (globs, ',' or ':', '!' excludes)
  --parallel N  hosts checked at a time (default 4)
  --shard i/n   check every n-th host by name, starting with the i-th (split a class over runners)
  merge         join the results.json of several runs (shards) into one set of reports
  --list        list the checks: ID, stage, title
  --format F    the console form: pretty (symbols; colour on a terminal unless NO_COLOR),
                plain (ASCII, no colour), json (results.json on stdout, nothing else)
  --quiet       no progress: only the summary and the failures
  --source S    where the lesson's binaries come from: github (the lesson's release assets,
                checksums verified), go (the same assets built here from the releases' Go
                modules, through Go's own GOPROXY), apt (Debian's packages: other versions, no
                nerdctl), dir:DIR (a folder of release assets, for hosts without network);
                auto, the lab's default: github if its cache holds the assets (the default never
                downloads from github.com unasked), else go, else apt, saying why
  --mirror URL  with --source github: fetch the same paths from URL instead of https://github.com
  --pin P       with --source github, go or dir: other versions than the lesson's pins,
                e.g. containerd=2.2.2,runc=1.4.1 (names: containerd, runc, nerdctl, cniPlugins)
  walkthrough   the lesson's steps on THIS host at the lesson's paths, with systemd, from the
                release assets, asserting every state before and after each step; it changes
                system paths, so it runs only with --yes (or CI=true), on a host without the
                lesson's files (an ephemeral VM)
  --set-aside-leftovers  on a throwaway VM that already has a container runtime (GitHub's
                runners: Docker, containerd.io, podman): stop its services and rename any runc on
                systemd's default PATH for the walk, so that R1 can be observed; the runc
                binaries are put back afterwards, the services stay stopped
  machine       the walkthrough inside a throwaway Debian machine with systemd as init
                (systemd-nspawn, its own network namespace and sshd), torn down afterwards;
                --keep leaves it up (--until ID: unfinished after that check) and says how to
                reach it over ssh; --down removes every machine left up
  clean         remove what verify or grade runs that were killed (SIGKILL, a power cut) left on
                this host; every run does it as it starts, and never touches a live run's
  fetch         gather the github (default) or go source's assets (checksums verified; with go,
                podinfo too) into DIR, for \`lab --source dir:DIR\` on a host without network
  --keep        leave the lab up afterwards and print its profile file
  --down        remove every lab left up (by --keep or by a killed run), or with --profile
                just the lab that profile file belongs to`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'lab') return await labCommand(rest);
    if (command === 'verify' || command === 'grade') return await inspectCommand(command, rest);
    if (command === 'fetch') return await fetchCommand(rest);
    if (command === 'walkthrough') return await walkthroughCommand(rest);
    if (command === 'merge') return await mergeCommand(rest);
    if (command === 'clean') return await cleanCommand(rest);
    if (command === 'machine') return await (await import('./machine/command.ts')).machineCommand(rest);
    // internal: the vitest child of one host of a fleet (helpers/runner.ts); loaded only here, since vitest is big
    if (command === 'run-suites') return await (await import('./suite-runner.ts')).runSuitesHere();
    if (command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lesson-check: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof InventoryError) {
      console.error(`lesson-check: bad inventory: ${e.message}`);
      return 2;
    }
    if (e instanceof ProfileError) {
      console.error(`lesson-check: bad profile: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        reports: { type: 'string', default: 'reports' },
        keep: { type: 'boolean', default: false },
        down: { type: 'boolean', default: false },
        profile: { type: 'string', default: 'lesson' },
        source: { type: 'string' },
        mirror: { type: 'string' },
        pin: { type: 'string' },
        to: { type: 'string' },
        only: { type: 'string' },
        list: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        format: { type: 'string', default: 'pretty' },
        yes: { type: 'boolean', default: false },
        target: { type: 'string', multiple: true, default: [] },
        inventory: { type: 'string' },
        limit: { type: 'string' },
        parallel: { type: 'string', default: '4' },
        shard: { type: 'string' },
        'set-aside-leftovers': { type: 'boolean', default: false },
        // for the project's own tests: build the lab with a student's mistake in it
        fault: { type: 'string', multiple: true, default: [] },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --source/--mirror/--pin as a source; `fallback` when --source was not given. */
function sourceOption(opts: ReturnType<typeof parse>, fallback: 'auto' | 'github'): SourceSpec {
  const given = (opts.source as string | undefined) ?? fallback;
  try {
    return parseSource(given, { mirror: opts.mirror as string | undefined, pins: opts.pin as string | undefined });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseOnly(only: string | undefined): string[] | undefined {
  if (!only) return undefined;
  const ids = only
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = ids.filter((id) => !CATALOGUE.some((c) => c.id === id));
  if (unknown.length)
    throw new UsageError(
      `unknown check ID in --only: ${unknown.join(', ')} (known: ${CATALOGUE.map((c) => c.id).join(' ')})`,
    );
  return ids;
}

/** The console options, validated, and where informational lines go: stderr when stdout carries
 * JSON, nowhere with --quiet. */
function consoleOptions(opts: ReturnType<typeof parse>): ConsoleOptions & { info: (line: string) => void } {
  const format = opts.format as string;
  if (!['pretty', 'plain', 'json'].includes(format))
    throw new UsageError(`unknown --format ${format} (pretty, plain or json)`);
  const quiet = opts.quiet as boolean;
  const info = (line: string) => {
    if (quiet) return;
    (format === 'json' ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return { format, quiet, info };
}

async function labCommand(args: string[]): Promise<number> {
  const opts = parse(args);
  const out = consoleOptions(opts);
  if (process.getuid?.() !== 0) {
    console.error('lesson-check lab: must run as root (it runs containerd, mounts, and creates network namespaces)');
    return 2;
  }
  const host = new Host(new LocalTransport());
  if (opts.down)
    return await labDown(host, opts.profile === 'lesson' ? undefined : loadProfile(opts.profile as string).prefix);
  const faults = opts.fault as string[];
  for (const f of faults)
    if (!FAULTS.includes(f as Fault)) throw new UsageError(`unknown --fault ${f} (known: ${FAULTS.join(', ')})`);
  const reportsDir = resolve(opts.reports as string);
  const source = sourceOption(opts, 'auto');

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
      await lab.setUp();
    } catch (e) {
      if (signals.signalled()) return signals.exitCode();
      console.error(`lesson-check lab: could not set up the lab: ${(e as Error).message}`);
      writeSetupLog(reportsDir, host);
      return 2;
    }
    const setupMs = Date.now() - t0;
    const cached = lab.fromCache ? 'cache reused' : 'fetched';
    out.info(
      `lesson-check: lab ${lab.id} at ${lab.state.prefix} (source ${sourceName(lab.state.source)}, ${cached}; set up in ${(setupMs / 1000).toFixed(1)} s)`,
    );
    for (const line of lab.state.sourceChoice) out.info(`lesson-check: ${line}`);
    // the sandbox is the default: twice as fast as a machine, and it needs no debootstrap or nspawn
    out.info(
      'lesson-check: the sandbox lab (a supervised containerd under a prefix); the lesson exactly as written, with systemd: `lesson-check machine`',
    );
    writeSetupLog(reportsDir, host);
    if (signals.signalled()) return signals.exitCode();

    const info: RunInfo = {
      runId: lab.id,
      mode: 'lab',
      host: 'local',
      profileFile: lab.state.profileFile,
      labStateFile: lab.stateFile,
      startedAt: new Date().toISOString(),
    };
    const { report, walkMs, writeError } = await runSuites(
      info,
      join(lab.state.prefix, 'lab', 'run'),
      reportsDir,
      undefined,
      out,
      suites,
    );
    if (signals.signalled()) return signals.exitCode();
    out.info(`lesson-check: walk ${(walkMs / 1000).toFixed(1)} s`);
    const code = summarize(report, reportsDir, out, writeError);
    // the lab's own parts, not the lesson's: a registry that stopped is a setup error
    const registry = lab.state.registry;
    if (registry && !isAlive(registry.pid)) {
      console.error(
        `lesson-check lab: the lab's registry (${registry.url}, PID ${registry.pid}) stopped during the walk, so pulls failed for the lab's sake, not the lesson's: see ${join(lab.state.prefix, 'lab', 'registry.log')}`,
      );
      return 2;
    }
    return code;
  } finally {
    if (lab && opts.keep && !signals.signalled()) {
      // the kept lab's profile is the point of --keep: said even with --quiet
      process.stderr.write(
        `lesson-check: lab kept up; its profile: ${lab.state.profileFile}\n  check it with: lesson-check verify --profile ${lab.state.profileFile}\n  remove it with: lesson-check lab --down\n`,
      );
    } else if (lab) {
      const t1 = Date.now();
      const torn = await teardownLab(new Host(new LocalTransport()), lab.state.prefix);
      out.info(
        `lesson-check: lab ${lab.id} torn down in ${((Date.now() - t1) / 1000).toFixed(1)} s (${torn.processes} processes killed, ${torn.mounts} mounts, ${torn.netns.length} netns, ${torn.links.length} links, ${torn.hostTraces.length} host dirs; prefix ${torn.prefixRemoved ? 'removed' : 'NOT removed'})`,
      );
    }
    signals.release();
  }
}

/** verify and grade: inspect a finished host; everything the run makes lives in `lc-<run id>`. */
async function inspectCommand(mode: Extract<Mode, 'verify' | 'grade'>, args: string[]): Promise<number> {
  const opts = parse(args);
  const out = consoleOptions(opts);
  if (opts.list) {
    await listChecks();
    return 0;
  }
  const only = parseOnly(opts.only as string | undefined);
  const targets = opts.target as string[];
  if (targets.length || opts.inventory) return await fleetCommand(mode, opts, out, only);
  const profileArg = opts.profile as string;
  // read the profile before anything is made: a bad one exits 2 and leaves nothing behind
  const profile = profileArg === 'lesson' ? lessonProfile() : loadProfile(profileArg);
  const runId = randomBytes(3).toString('hex');
  const runDir = mkdtempSync(join(tmpdir(), `lesson-check-${runId}-`));
  const profileFile = profileFileFor(profileArg, runDir);
  const reportsDir = resolve(opts.reports as string);
  const host = new Host(new LocalTransport());
  const suites: SuiteControl = {};
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping and removing this run's probes`);
    suites.stop?.(sig);
  });
  let report: RunReport | undefined;
  try {
    // what runs that were killed left here goes first; then this run says it is here
    for (const dead of await cleanDeadRuns(host))
      out.info(
        `lesson-check: removed what run ${dead.runId} (${dead.mode}, PID ${dead.pid}, started ${dead.startedAt}) left here: it ended without cleaning up`,
      );
    await recordRun(host, profile, runId, mode);
    const info: RunInfo = {
      runId,
      mode,
      host: 'local',
      profileFile: resolve(profileFile),
      startedAt: new Date().toISOString(),
    };
    let writeError: string | undefined;
    ({ report, writeError } = await runSuites(info, join(runDir, 'run'), reportsDir, only, out, suites));
    if (signals.signalled()) return signals.exitCode();
    if (mode === 'grade' && report && !writeError) writeGrade(report, reportsDir, out);
    return summarize(report, reportsDir, out, writeError);
  } finally {
    // the run's own containerd namespace (pulls, probe containers), whatever happened
    mark('cli: removing run traces');
    // with containerd down the namespace stays: so does the record, for the next run to finish
    if (await removeRunTraces(host, profile, runId, { probesCutShort: probesCutShort(report, signals.signalled()) }))
      await forgetRun(host, runId);
    mark('cli: run traces removed');
    rmSync(runDir, { recursive: true, force: true });
    signals.release();
  }
}

/** verify/grade over --target and --inventory hosts: merged reports, a gradebook, exit 1 on any failure. */
async function fleetCommand(
  mode: Extract<Mode, 'verify' | 'grade'>,
  opts: ReturnType<typeof parse>,
  out: ReturnType<typeof consoleOptions>,
  only: string[] | undefined,
): Promise<number> {
  let hosts: TargetHost[];
  try {
    hosts = [
      ...targetsFromUrls(opts.target as string[]),
      ...(opts.inventory ? await readInventory(opts.inventory as string) : []),
    ];
  } catch (e) {
    if (e instanceof InventoryError) throw e;
    throw new UsageError((e as Error).message);
  }
  hosts = shardHosts(limitHosts(hosts, opts.limit as string | undefined), opts.shard as string | undefined);
  const parallel = Number(opts.parallel);
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UsageError(`--parallel ${opts.parallel}: a whole number ≥ 1`);
  if (hosts.length === 0) throw new UsageError('no hosts to check (after --limit and --shard)');
  const defaultProfile = opts.profile as string;
  if (defaultProfile !== 'lesson') loadProfile(defaultProfile);
  const reportsDir = resolve(opts.reports as string);
  const children = new Set<ReturnType<typeof spawn>>();
  const signals = trapSignals((sig) => {
    console.error(
      `\nlesson-check: ${sig} received: no new host starts; stopping the running ones, then writing the reports of the hosts that finished`,
    );
    // each host's child cancels its checks as on Ctrl-C (their probes undo themselves); this process
    // then sweeps each host
    for (const c of children) c.kill('SIGINT');
  });
  try {
    out.info(
      `lesson-check: ${mode} ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${Math.min(parallel, hosts.length)} at a time`,
    );
    const reports = await checkFleet(
      {
        mode,
        hosts,
        defaultProfile,
        reportsDir,
        only,
        parallel,
        info: out.info,
        interrupted: () => signals.signalled() !== undefined,
      },
      children,
    );
    const writeError = reports.length ? await tryWriteReports(reports, reportsDir) : undefined;
    if (out.format === 'json') process.stdout.write(`${JSON.stringify({ runs: reports }, null, 2)}\n`);
    else printClass(reports, reportsDir);
    if (signals.signalled()) return signals.exitCode();
    if (writeError) {
      console.error(`lesson-check: ${writeError}`);
      return 2;
    }
    return reports.some((r) => r.checks.some((c) => c.state === 'failed' || c.state === 'error')) ? 1 : 0;
  } finally {
    signals.release();
  }
}

/** clean: removes what inspecting runs that were killed (SIGKILL, a power cut) left on this host. */
async function cleanCommand(args: string[]): Promise<number> {
  parse(args);
  const removed = await cleanDeadRuns(new Host(new LocalTransport()));
  for (const dead of removed)
    console.log(
      `lesson-check: removed what run ${dead.runId} (${dead.mode}, PID ${dead.pid}, started ${dead.startedAt}) left: it ended without cleaning up`,
    );
  if (removed.length === 0)
    console.log('lesson-check: nothing to clean: no run that ended without cleaning up left anything here');
  return 0;
}

/** merge: several runs' results (shards of a class) into one set of reports. */
async function mergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args,
        options: { reports: { type: 'string', default: 'reports' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  if (positionals.length === 0)
    throw new UsageError('merge needs the report folders to join: lesson-check merge DIR… [--reports OUT]');
  const byHost = new Map<string, RunReport>();
  for (const dir of positionals) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(dir, REPORT_FILES.json), 'utf8'));
    } catch (e) {
      console.error(`lesson-check merge: ${join(dir, REPORT_FILES.json)}: ${(e as Error).message}`);
      return 2;
    }
    for (const r of runsOf(doc)) byHost.set(r.host, r);
  }
  const reports = [...byHost.values()].sort((a, b) => a.host.localeCompare(b.host));
  const reportsDir = resolve(values.reports as string);
  await writeReports(reports, reportsDir);
  printClass(reports, reportsDir);
  return reports.some((r) => r.checks.some((c) => c.state === 'failed' || c.state === 'error')) ? 1 : 0;
}

/** The class on the console: a row per host. */
function printClass(reports: RunReport[], reportsDir: string): void {
  console.log('\n host                 score    passed  failed  errors  skipped  first failing check');
  for (const r of reports) {
    const n = countStates(r.checks);
    const g = r.grade ?? gradeOf(r.checks);
    const first = r.checks.find((c) => c.state === 'failed' || c.state === 'error');
    console.log(
      ` ${r.host.padEnd(20)} ${`${g.percent}%`.padStart(6)}  ${String(n.passed).padStart(6)}  ${String(n.failed).padStart(6)}  ${String(n.error).padStart(6)}  ${String(n.skipped).padStart(7)}  ${first ? `${first.id} ${first.cause ?? ''}` : ''}`,
    );
  }
  console.log(`\nreports: ${[...Object.values(REPORT_FILES), GRADEBOOK].map((f) => join(reportsDir, f)).join(', ')}`);
}

/** fetch: the github or go source's assets, verified, into a folder for `--source dir:DIR`. */
async function fetchCommand(args: string[]): Promise<number> {
  const opts = parse(args);
  if (!opts.to) throw new UsageError('fetch needs --to DIR');
  const source = sourceOption(opts, 'github');
  if (source.kind !== 'github' && source.kind !== 'go')
    throw new UsageError('fetch gathers the github source (optionally through --mirror) or the go source');
  const host = new Host(new LocalTransport());
  const to = resolve(opts.to as string);
  // Ctrl-C cancels the downloads and builds (their own process groups), which remove their scratch
  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping`);
    interrupt.abort();
  });
  try {
    const built = source.kind === 'go' ? await buildGoAssets(host, source.versions) : undefined;
    const fetched = source.kind === 'github' ? await fetchGithubAssets(host, source.base, source.versions) : built!;
    const copied = copyAssetsTo(fetched, to);
    if (built) {
      // the go source built podinfo too: a dir: lab serves the real one
      copyPodinfoTo(built.podinfo, to);
      copied.push('podinfo/');
    }
    for (const note of fetched.notes) console.log(`lesson-check: ${note}`);
    for (const [role, why] of Object.entries(fetched.missing))
      console.error(`lesson-check: ${role}: not fetched: ${why}`);
    console.log(`lesson-check: ${copied.length} files in ${to}; use them with: npm run lab -- --source dir:${to}`);
    return 0;
  } catch (e) {
    if (signals.signalled()) return signals.exitCode();
    console.error(`lesson-check fetch: ${(e as Error).message}`);
    return 2;
  } finally {
    signals.release();
  }
}

/** walkthrough: the lesson on this very host, at the lesson's paths, with systemd. */
async function walkthroughCommand(args: string[]): Promise<number> {
  const opts = parse(args);
  const out = consoleOptions(opts);
  if (!opts.yes && process.env.CI !== 'true') {
    console.error(
      'lesson-check walkthrough: it installs containerd, runc, nerdctl and the CNI plugins into /usr/local, /etc and /opt of THIS host; say --yes (CI=true implies it), or use `npm run lab` for a private sandbox',
    );
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('lesson-check walkthrough: must run as root (the lesson uses sudo)');
    return 2;
  }
  // sd_booted(): systemd runs as init exactly when this directory exists
  if (!existsSync('/run/systemd/system')) {
    console.error(
      `lesson-check walkthrough: systemd is not this host's init (PID 1 is ${readFileSync('/proc/1/comm', 'utf8').trim()}); the lesson runs containerd as a systemd service. Use \`npm run lab\` here.`,
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
  if (leftovers.atLessonPaths.length) {
    console.error(
      `lesson-check walkthrough: this host already has the lesson's files: ${leftovers.atLessonPaths.join(', ')}. The walkthrough asserts the state before each step, so it needs a host without them (a fresh VM); \`lesson-check verify\` checks a finished one.`,
    );
    return 2;
  }
  for (const s of leftovers.services) out.info(`lesson-check: found ${s}`);
  if (leftovers.runcOnPath.length && !opts['set-aside-leftovers']) {
    out.info(
      `lesson-check: runc already on systemd's default PATH: ${leftovers.runcOnPath.join(', ')}; containerd will find it, so R1 cannot be observed (rerun with --set-aside-leftovers on a throwaway VM)`,
    );
  }

  const runId = randomBytes(3).toString('hex');
  const runDir = mkdtempSync(join(tmpdir(), `lesson-check-${runId}-`));
  const reportsDir = resolve(opts.reports as string);
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
      release =
        source.kind === 'github'
          ? await fetchGithubAssets(host, source.base, source.versions)
          : source.kind === 'go'
            ? await buildGoAssets(host, source.versions)
            : readDirAssets(source.dir, source.versions);
      const missing = Object.values(release.missing);
      if (missing.length) throw new Error(missing.join('; '));
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
    if (opts['set-aside-leftovers'] && (leftovers.runcOnPath.length || leftovers.services.length)) {
      await walk.setAside(leftovers);
      out.info(
        `lesson-check: set aside for the walk: ${[...leftovers.services.map((s) => s.replace(' is active', ' (stopped)')), ...leftovers.runcOnPath].join(', ')}`,
      );
    }
    const info: RunInfo = {
      runId,
      mode: 'walkthrough',
      host: 'local',
      profileFile,
      walkStateFile: join(runDir, 'walk.json'),
      startedAt: new Date().toISOString(),
    };
    // --only: the walk goes as far as the checks asked for (a machine left unfinished on purpose)
    const { report, writeError } = await runSuites(
      info,
      join(runDir, 'run'),
      reportsDir,
      parseOnly(opts.only as string | undefined),
      out,
      suites,
    );
    if (signals.signalled()) return signals.exitCode();
    return summarize(report, reportsDir, out, writeError);
  } finally {
    const restored = walk?.restore() ?? [];
    if (restored.length) out.info(`lesson-check: put back: ${restored.join(', ')}`);
    // a walk on the real host: sweep everything, always (an interrupt cancels no cleanup)
    host.signal = undefined;
    await removeRunTraces(host, profile, runId, { probesCutShort: true });
    rmSync(runDir, { recursive: true, force: true });
    signals.release();
  }
}

async function listChecks(): Promise<void> {
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const out = await new Promise<string>((done) => {
    const p = spawn(
      process.execPath,
      [vitest, 'list', '--json', '--root', ROOT, '--config', join(ROOT, 'vitest.config.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.once('close', () => done(text));
  });
  const tests = JSON.parse(out) as Array<{ name: string }>;
  for (const { id, stage } of CATALOGUE) {
    const title = tests.map((t) => t.name.split(' > ').pop() ?? '').find((n) => n.startsWith(`${id} `));
    console.log(`${id.padEnd(3)} ${stage.padEnd(14)} ${title?.slice(id.length + 1) ?? ''}`);
  }
}

/** The end of a run on the console: the summary table and failures, or the JSON document alone. */
function summarize(
  report: RunReport | undefined,
  reportsDir: string,
  out: ConsoleOptions,
  writeError?: string,
): number {
  if (!report) {
    console.error(`lesson-check: the run wrote no results to ${reportsDir}`);
    return 2;
  }
  if (writeError) {
    // the results on the console all the same, then the one line that says what was not written
    console.log(renderSummary(report, consoleStyle(process.stdout, out.format === 'json' ? 'plain' : out.format)));
    console.error(`lesson-check: ${writeError}`);
    return 2;
  }
  if (out.format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    console.log(renderSummary(report, consoleStyle(process.stdout, out.format)));
    console.log(
      `reports: ${Object.values(REPORT_FILES)
        .map((f) => join(reportsDir, f))
        .join(', ')}`,
    );
  }
  const counts = countStates(report.checks);
  return counts.failed + counts.error > 0 ? 1 : 0;
}

/** The grade: grade.json beside the other reports, and a table on the console. */
function writeGrade(report: RunReport, reportsDir: string, out: ConsoleOptions): void {
  const grade = report.grade!;
  const rows = report.checks.map((c: CheckResult) => ({
    id: c.id,
    state: c.state,
    weight: c.weight,
    hint: gradeHint(c) ?? '',
  }));
  writeFileSync(
    join(reportsDir, 'grade.json'),
    `${JSON.stringify({ host: report.host, profile: report.profile, ...grade, checks: rows }, null, 2)}\n`,
  );
  if (out.format === 'json') return;
  console.log('\n ID   state    weight  hint');
  for (const r of rows)
    console.log(` ${r.id.padEnd(4)} ${r.state.padEnd(8)} ${String(r.weight).padStart(6)}  ${r.hint}`);
  console.log(`\nscore ${grade.score}/${grade.maxScore} (${grade.percent}%)`);
}

/** Removes every lab under LABS_ROOT, or just the one whose prefix is given. */
async function labDown(host: Host, only?: string): Promise<number> {
  const labs = only ? [only.split('/').pop()!] : existsSync(LABS_ROOT) ? readdirSync(LABS_ROOT) : [];
  for (const id of labs) {
    const torn = await teardownLab(host, join(LABS_ROOT, id));
    console.log(`lesson-check: lab ${id} removed (${torn.processes} processes, ${torn.mounts} mounts)`);
  }
  if (labs.length === 0) console.log('lesson-check: no labs to remove');
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
