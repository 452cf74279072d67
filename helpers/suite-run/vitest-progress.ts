/**
 * Progress while the suites run: the stage, then each check with its time, in lesson order (when
 * inspecting, checks of several stages run at once: a check's line waits for those before it);
 * on a terminal the running checks and their elapsed time are shown live on one line. Silent with
 * --quiet or --format json; plain ASCII with --format plain; colour only on a terminal without
 * NO_COLOR.
 */
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { clip, visible, visibleLine } from '../host/host-text.ts';
import { type RunInfo, currentRunInfo } from '../run/run.ts';
import { type ConsoleStyle, consoleStyle, stateGlyph } from '../reporters/console.ts';

export default class ProgressReporter implements Reporter {
  private readonly out = process.stdout;
  private readonly format: string;
  private readonly quiet: boolean;
  private readonly style: ConsoleStyle;
  /** --only: the checks left out are not part of this run, so not of its progress either. */
  private readonly only: string[] | undefined;
  private live: NodeJS.Timeout | undefined;
  /** The checks running now, with their start times, oldest first. */
  private readonly running = new Map<string, { name: string; started: number }>();
  private lastStage = '';
  /** The lines of finished checks not yet printed, and the checks in lesson order. */
  private readonly finished = new Map<string, { stage: string; line: string }>();
  private order: TestCase[] | undefined;
  private printed = 0;

  /** `info` absent: vitest run directly on suites/ (vitest.config.ts, which passes its reporter
   * options), with its run's if any. */
  constructor({ info = currentRunInfo() }: { info?: RunInfo } = {}) {
    this.format = info?.console.format ?? 'pretty';
    this.quiet = (info?.console.quiet ?? false) || this.format === 'json';
    this.style = consoleStyle(this.out, this.format);
    this.only = info?.only;
  }

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
    if (!this.shown(test) || !this.out.isTTY) return;
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
    const ms = test.meta().check?.durationMs ?? test.diagnostic()?.duration ?? 0;
    // a skip reason quotes what the check it waited for observed: host text, on one line
    const reason = r.state === 'skipped' ? (test.meta().check?.skipReason ?? r.note ?? 'skipped') : undefined;
    const why = reason === undefined ? '' : `  (${clip(visibleLine(reason), 300)})`;
    const stage = test.parent.type === 'suite' ? test.parent.name : '';
    this.finished.set(test.id, {
      stage,
      line: `  ${stateGlyph(this.style, state)} ${test.name}  ${(ms / 1000).toFixed(2)} s${why}`,
    });
    this.order ??= [...test.module.children.allTests()].filter((t) => this.shown(t));
    this.flush(false);
    if (this.out.isTTY) this.draw();
  }

  /** Prints the finished checks whose turn has come; at the end, every finished one left. */
  private flush(atEnd: boolean): void {
    const order = this.order ?? [];
    for (; this.printed < order.length; this.printed++) {
      const done = this.finished.get(order[this.printed]!.id);
      if (!done) {
        if (atEnd) continue;
        return;
      }
      if (done.stage !== this.lastStage) {
        this.lastStage = done.stage;
        this.out.write(`\n${done.stage}\n`);
      }
      this.out.write(`${done.line}\n`);
    }
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<{ message?: string; stack?: string }>): void {
    clearInterval(this.live);
    // a run cut short: what did finish, in order
    this.flush(true);
    // a suite that failed to load, or an error outside any check: always say so
    for (const m of modules)
      for (const e of m.errors())
        process.stderr.write(visible(`\nlesson-check: ${m.moduleId} failed to load: ${e.message}\n${e.stack ?? ''}\n`));
    for (const e of errors)
      process.stderr.write(visible(`\nlesson-check: unhandled error: ${e.message ?? ''}\n${e.stack ?? ''}\n`));
  }
}
