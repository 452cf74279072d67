/**
 * The vitest child of a run (`lesson-check run-suites`, started by helpers/runner.ts): runs the
 * stage suites through vitest's Node API with lesson-check's options and reporters, so that no
 * config file has to be bundled and no reporter transformed at start-up. Reads LC_RUN_DIR,
 * LC_REPORTS_DIR, LC_ONLY and the console options from the environment, as the reporters do.
 */
import { startVitest } from 'vitest/node';
import ProgressReporter from './reporters/vitest-progress.ts';
import LessonReporter from './reporters/vitest-reporter.ts';
import { ROOT } from './root.ts';
import LessonOrderSequencer from './sequencer.ts';
import { SUITE_OPTIONS } from './suite-config.ts';

export async function runSuitesHere(): Promise<number> {
  const only = process.env.LC_ONLY?.split(',');
  const vitest = await startVitest('test', [], {
    ...SUITE_OPTIONS,
    root: ROOT,
    config: false,
    watch: false,
    // vitest matches the full name, "<stage> <ID> <fact>": the ID is the word after the stage
    ...(only ? { testNamePattern: `(?:^|\\s)(?:${only.join('|')})\\s` } : {}),
    sequence: { sequencer: LessonOrderSequencer },
    reporters: [new ProgressReporter(), new LessonReporter()],
  });
  await vitest.close();
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
