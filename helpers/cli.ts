/**
 * lesson-check's command line. `lab` builds a private sandbox, walks the lesson on it through
 * the stage suites (vitest, in a child process), writes the reports, and tears the sandbox down
 * on success, failure, timeout and Ctrl-C alike. Exit codes: 0 all passed, 1 checks failed,
 * 2 usage or setup error.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Host } from './host.ts';
import { FAULTS, type Fault, LABS_ROOT, Lab } from './lab/lab.ts';
import { teardownLab } from './lab/teardown.ts';
import { LocalTransport } from './transport.ts';
import type { RunInfo } from './run.ts';
import type { RunReport } from './reporters/model.ts';
import { countStates } from './reporters/model.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: lesson-check lab [--reports DIR] [--keep]
       lesson-check lab --down

  lab           build a private sandbox, walk the containerd lesson on it end to end, tear it down
  --reports DIR where junit.xml and results.json go (default: reports/)
  --keep        leave the lab up afterwards and print its profile file
  --down        remove every lab left up (by --keep or by a killed run)`;

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'lab') return await labCommand(rest);
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

async function labCommand(args: string[]): Promise<number> {
  const opts = parse(args);
  if (process.getuid?.() !== 0) {
    console.error('lesson-check lab: must run as root (it runs containerd, mounts, and creates network namespaces)');
    return 2;
  }
  const host = new Host(new LocalTransport());
  if (opts.down) return await labDown(host);
  const faults = opts.fault as string[];
  for (const f of faults) if (!FAULTS.includes(f as Fault)) throw new UsageError(`unknown --fault ${f} (known: ${FAULTS.join(', ')})`);
  const reportsDir = resolve(opts.reports as string);

  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  let child: ReturnType<typeof spawn> | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = sig;
    console.error(`\nlesson-check: ${sig} received: stopping the walk and tearing the lab down`);
    interrupt.abort();
    child?.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = Date.now();
  let lab: Lab | undefined;
  let exitCode = 2;
  try {
    try {
      lab = Lab.prepare(host, { faults: faults as Fault[] });
      await lab.setUp();
    } catch (e) {
      if (signalled) return 130;
      console.error(`lesson-check lab: could not set up the lab: ${(e as Error).message}`);
      writeSetupLog(reportsDir, host);
      return 2;
    }
    const setupMs = Date.now() - t0;
    const cached = lab.state.artifacts?.fromCache ? 'cache reused' : 'fetched from apt';
    console.log(`lesson-check: lab ${lab.id} at ${lab.state.prefix} (source apt, ${cached}; set up in ${(setupMs / 1000).toFixed(1)} s)`);
    writeSetupLog(reportsDir, host);
    if (signalled) return 130;

    const runDir = join(lab.state.prefix, 'lab', 'run');
    mkdirSync(runDir, { recursive: true });
    const info: RunInfo = { runId: lab.id, mode: 'lab', profileFile: lab.state.profileFile, labStateFile: lab.stateFile, startedAt: new Date().toISOString() };
    writeFileSync(join(runDir, 'run.json'), JSON.stringify(info, null, 2));

    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    child = spawn(process.execPath, [vitest, 'run', '--root', ROOT, '--config', join(ROOT, 'vitest.config.ts')], {
      stdio: 'inherit',
      env: { ...process.env, LC_RUN_DIR: runDir, LC_REPORTS_DIR: reportsDir },
    });
    await new Promise<void>((done) => child!.once('exit', () => done()));
    child = undefined;
    const walkMs = Date.now() - t0 - setupMs;

    const report = readReport(reportsDir);
    if (signalled) exitCode = 130;
    else if (!report) {
      console.error(`lesson-check lab: the walk wrote no results to ${reportsDir}`);
      exitCode = 2;
    } else {
      const counts = countStates(report.checks);
      exitCode = counts.failed + counts.error > 0 ? 1 : 0;
      console.log(`lesson-check: ${counts.passed} passed, ${counts.failed} failed, ${counts.error} errors, ${counts.skipped} skipped; walk ${(walkMs / 1000).toFixed(1)} s; reports in ${reportsDir}`);
      console.log(`lesson-check: by stage: ${stageTimes(report)}`);
    }
    return exitCode;
  } finally {
    if (lab && opts.keep && !signalled) {
      console.log(`lesson-check: lab kept up; its profile: ${lab.state.profileFile}\n  remove it with: lesson-check lab --down`);
    } else if (lab) {
      const t1 = Date.now();
      const torn = await teardownLab(new Host(new LocalTransport()), lab.state.prefix);
      console.log(`lesson-check: lab ${lab.id} torn down in ${((Date.now() - t1) / 1000).toFixed(1)} s (${torn.processes} processes killed, ${torn.mounts} mounts, ${torn.netns.length} netns, ${torn.links.length} links, ${torn.hostTraces.length} host dirs; prefix ${torn.prefixRemoved ? 'removed' : 'NOT removed'})`);
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function labDown(host: Host): Promise<number> {
  const labs = existsSync(LABS_ROOT) ? readdirSync(LABS_ROOT) : [];
  for (const id of labs) {
    const torn = await teardownLab(host, join(LABS_ROOT, id));
    console.log(`lesson-check: lab ${id} removed (${torn.processes} processes, ${torn.mounts} mounts)`);
  }
  if (labs.length === 0) console.log('lesson-check: no labs to remove');
  return 0;
}

function readReport(reportsDir: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(join(reportsDir, 'results.json'), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}

function stageTimes(report: RunReport): string {
  const byStage = new Map<string, number>();
  for (const c of report.checks) byStage.set(c.stage, (byStage.get(c.stage) ?? 0) + c.durationMs);
  return [...byStage].map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`).join(', ');
}

/** The lab's set-up commands (apt, registry, images) as a transcript beside the reports. */
function writeSetupLog(reportsDir: string, host: Host): void {
  mkdirSync(reportsDir, { recursive: true });
  const lines = host.takeTranscript().map((e) => `$ ${e.command}  # ${e.outcome}${e.exitCode ? `\n${e.stderr.trimEnd()}` : ''}`);
  writeFileSync(join(reportsDir, 'lab-setup.log'), `${lines.join('\n')}\n`, { flag: 'a' });
}
