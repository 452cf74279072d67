/**
 * What a long set-up step is doing while it does it: building the lesson's releases, downloads,
 * debootstrap, the images. A step that ends within 2 s says nothing. Past that, on a terminal,
 * one line redrawn in place with the time so far (every second); in a log (stdout not a
 * terminal: CI), a line then, one every 25 s while it runs, and one when it ends. Steps nest
 * (setting up the lab: building containerd…): the innermost is the one shown. Each step's time
 * is kept for the reports. Silent until a command turns it on (`showProgress`): the tests and
 * library callers print nothing.
 */
import { visibleLine } from '../host/host-text.ts';
import { type StepTiming, elapsedText } from '../reporters/model.ts';
import { verbose } from '../host/transport.ts';

export interface ProgressSink {
  write(text: string): void;
  /** Redraw one line in place (a terminal), or write a line per event (a log). */
  redraw: boolean;
}

const QUIET_MS = 2_000;
const REDRAW_MS = 1_000;
// under 30 s between lines, whatever the 1 s tick adds
const LOG_EVERY_MS = 25_000;

interface Active {
  label: string;
  started: number;
  /** Said so on the console (it outlived QUIET_MS). */
  shown: boolean;
  lastLine: number;
}

let sink: ProgressSink | undefined;
let timings: StepTiming[] = [];
const active: Active[] = [];
let ticker: NodeJS.Timeout | undefined;

/** Shows progress on `s` from now on (undefined: silent again). */
export function showProgress(s: ProgressSink | undefined): void {
  sink = s;
}

/** The console's sink: stdout (stderr when stdout carries a document), redrawn on a terminal. */
export function consoleProgress(opts: { format: string; quiet: boolean }): ProgressSink | undefined {
  if (opts.quiet) return undefined;
  const stream = opts.format === 'json' ? process.stderr : process.stdout;
  // verbose, the commands' own output runs past: a line per event, not one redrawn under it
  const redraw = opts.format === 'pretty' && stream.isTTY === true && !verbose();
  return { write: (t) => stream.write(t), redraw };
}

/** The steps timed since the last call; forgets them. */
export function takeStepTimings(): StepTiming[] {
  const taken = timings;
  timings = [];
  return taken;
}

/** A line of its own ("first run: …"), above the redrawn one. */
export function progressNote(line: string): void {
  if (!sink) return;
  sink.write(`${sink.redraw ? '\r\x1b[2K' : ''}lesson-check: ${visibleLine(line)}\n`);
  if (sink.redraw) draw();
}

function took(a: Active, now = performance.now()): string {
  return elapsedText(now - a.started);
}

/** Redraws the innermost step shown so far (one just begun is not, for its first 2 s). */
function draw(): void {
  const shown = [...active].reverse().find((a) => a.shown);
  if (sink?.redraw && shown) sink.write(`\r\x1b[2K  … ${visibleLine(shown.label)} ${took(shown)}`);
}

/** Every second: shows a step once it has lasted QUIET_MS, redraws it, or logs it every 25 s. */
function tick(): void {
  const now = performance.now();
  const top = active.at(-1);
  if (!sink || !top) return;
  if (!top.shown && now - top.started >= QUIET_MS) {
    top.shown = true;
    top.lastLine = now;
    if (!sink.redraw) sink.write(`lesson-check: ${visibleLine(top.label)} …\n`);
  } else if (top.shown && !sink.redraw && now - top.lastLine >= LOG_EVERY_MS) {
    top.lastLine = now;
    sink.write(`lesson-check: ${visibleLine(top.label)}: still at it, ${took(top, now)}\n`);
  }
  draw();
}

/** Runs `work` as the set-up step `label` ("building containerd 2.2.1 (1/5)"), saying so while
 * it runs if it takes a while; `atOnce`, from its start (a command's whole set-up: the first
 * thing a newcomer sees). */
export async function during<T>(label: string, work: () => Promise<T>, opts: { atOnce?: boolean } = {}): Promise<T> {
  const step: Active = { label, started: performance.now(), shown: false, lastLine: 0 };
  active.push(step);
  if (sink && !ticker) {
    ticker = setInterval(tick, Math.min(REDRAW_MS, QUIET_MS));
    ticker.unref();
  }
  if (sink && opts.atOnce) {
    step.shown = true;
    step.lastLine = step.started;
    if (!sink.redraw) sink.write(`lesson-check: ${visibleLine(label)} …\n`);
    draw();
  }
  const end = (outcome: StepTiming['outcome']) => {
    active.splice(active.indexOf(step), 1);
    timings.push({ step: label, ms: Math.round(performance.now() - step.started), outcome });
    if (!active.length) {
      clearInterval(ticker);
      ticker = undefined;
    }
    if (!sink || !step.shown) return;
    if (sink.redraw) sink.write(`\r\x1b[2K  ${outcome === 'done' ? '✓' : '✗'} ${visibleLine(label)} ${took(step)}\n`);
    else sink.write(`lesson-check: ${visibleLine(label)}: ${outcome} in ${took(step)}\n`);
    draw();
  };
  try {
    const value = await work();
    end('done');
    return value;
  } catch (e) {
    end('failed');
    throw e;
  }
}
