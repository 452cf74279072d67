/**
 * Progress while the suites run: the stage, then each check as it finishes, with its time;
 * on a terminal the running checks (several at once when inspecting) and their elapsed time
 * are shown live on one line. Silent with --quiet or --format json; plain ASCII with --format
 * plain; colour only on a terminal without NO_COLOR.
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { type ConsoleStyle, consoleStyle, mark } from './console.ts';

export default class ProgressReporter implements Reporter {
  private readonly out = process.stdout;
  private readonly format = process.env.LC_FORMAT ?? 'pretty';
  private readonly quiet = process.env.LC_QUIET === '1' || this.format === 'json';
  private readonly style: ConsoleStyle = consoleStyle(this.out, this.format);
  private live: NodeJS.Timeout | undefined;
  /** The checks running now, with their start times, oldest first. */
  private readonly running = new Map<string, { name: string; started: number }>();
  private lastStage = '';
  /** --only: the checks left out are not part of this run, so not of its progress either. */
  private readonly only = process.env.LC_ONLY?.split(',');

  private shown(test: TestCase): boolean {
    return !this.quiet && (!this.only || this.only.includes(test.name.split(' ')[0]!));
  }

  private draw(): void {
    const [oldest, ...others] = this.running.values();
    if (!oldest) return;
    const more = others.length
      ? `  (+${others.length} more: ${others.map((t) => t.name.split(' ')[0]).join(', ')})`
      : '';
    this.out.write(`\r\u001b[2K  … ${oldest.name}  ${((Date.now() - oldest.started) / 1000).toFixed(1)} s${more}`);
  }

  onTestCaseReady(test: TestCase): void {
    if (!this.shown(test)) return;
    const stage = test.parent.type === 'suite' ? test.parent.name : '';
    if (stage !== this.lastStage) {
      this.lastStage = stage;
      this.out.write(`\n${stage}\n`);
    }
    if (!this.out.isTTY) return;
    this.running.set(test.id, { name: test.name, started: Date.now() });
    this.draw();
    this.live ??= setInterval(() => this.draw(), 200);
  }

  onTestCaseResult(test: TestCase): void {
    if (!this.shown(test)) return;
    this.running.delete(test.id);
    if (this.running.size === 0) {
      clearInterval(this.live);
      this.live = undefined;
    }
    if (this.out.isTTY) this.out.write('\r\u001b[2K');
    const r = test.result();
    const state =
      r.state === 'passed'
        ? 'passed'
        : r.state === 'skipped'
          ? 'skipped'
          : test.meta().check?.kind === 'failure'
            ? 'failed'
            : 'error';
    const ms = test.diagnostic()?.duration ?? 0;
    const why = r.state === 'skipped' ? `  (${test.meta().check?.skipReason ?? r.note ?? 'skipped'})` : '';
    this.out.write(`  ${mark(this.style, state)} ${test.name}  ${(ms / 1000).toFixed(2)} s${why}\n`);
    if (this.out.isTTY) this.draw();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<{ message?: string; stack?: string }>): void {
    clearInterval(this.live);
    // a suite that failed to load, or an error outside any check: always say so
    for (const m of modules)
      for (const e of m.errors())
        process.stderr.write(`\nlesson-check: ${m.moduleId} failed to load: ${e.message}\n${e.stack ?? ''}\n`);
    for (const e of errors)
      process.stderr.write(`\nlesson-check: unhandled error: ${e.message ?? ''}\n${e.stack ?? ''}\n`);
  }
}
