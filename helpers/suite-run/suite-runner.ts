/**
 * Starts vitest through its Node API on the stage suites, with lesson-check's options and
 * reporters: no config file to bundle and no reporter to transform at start-up. The run is
 * described by its run.json (helpers/run/run.ts), found through LC_RUN_DIR.
 */
import { createVitest } from 'vitest/node';
import ProgressReporter from './vitest-progress.ts';
import LessonReporter, { type Handover } from './vitest-reporter.ts';
import { ROOT } from '../util/root.ts';
import { type RunInfo, currentRunInfo } from '../run/run.ts';
import { SUITE_OPTIONS } from './suite-config.ts';
import { ENDING_SIGNALS } from '../run/signals.ts';

/** How the CLI stops a run it is waiting for (Ctrl-C): set while the suites run. */
export interface SuiteControl {
  stop?: (signal: NodeJS.Signals) => void;
}

const SIGNALS = ENDING_SIGNALS;

/** Runs the suites to the end, or until `control.stop` cancels them (the running checks' signals
 * abort, so their commands are killed and their probes undone; the rest are not started). With
 * `ownSignals: false` the caller handles Ctrl-C: vitest's own handler, which ends the process
 * at once, is taken off again. */
export async function runStageSuites(
  control: SuiteControl,
  opts: { ownSignals: boolean; info: RunInfo; handover?: (h: Handover) => void },
): Promise<void> {
  const { ownSignals, info } = opts;
  const only = info.only;
  const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  const vitest = await createVitest('test', {
    ...SUITE_OPTIONS,
    root: ROOT,
    config: false,
    watch: false,
    // vitest matches the full name, "<stage> <ID> <fact>": the ID is the word after the stage
    ...(only ? { testNamePattern: `(?:^|\\s)(?:${only.join('|')})\\s` } : {}),
    reporters: [new ProgressReporter({ info }), new LessonReporter({ info, handover: opts.handover })],
  });
  if (!ownSignals) {
    for (const s of SIGNALS)
      for (const l of process.listeners(s)) if (!before.get(s)!.includes(l)) process.off(s, l as () => void);
  }
  control.stop = () => void vitest.cancelCurrentRun('keyboard-input');
  try {
    await vitest.start([]);
  } finally {
    control.stop = undefined;
    await vitest.close();
  }
}

/** `lesson-check run-suites`: the child process of one host of a fleet. */
/** How long a host's suites, their parent gone, have to stop before they exit anyway. */
const ORPHAN_GRACE_MS = 20_000;

export async function runSuitesHere(): Promise<number> {
  const info = currentRunInfo();
  if (!info) throw new Error('LC_RUN_DIR is not set: run-suites is started by `lesson-check verify --target`');
  // a fleet's host never outlives the fleet: its parent gone (killed, crashed), the channel
  // closes, and the checks stop as on Ctrl-C (their probes undo themselves); the parent's record
  // of the run stays on the host for the next run to sweep
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => {
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => process.exit(2), ORPHAN_GRACE_MS).unref();
    });
  }
  await runStageSuites({}, { ownSignals: true, info });
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
