/** The console's end-of-run view: a summary table per stage and the failures with their hints.
 * Every field that may hold a host's text is shown through host-text.ts; the colours are ours. */
import { visible, visibleLine } from '../host/host-text.ts';
import { type CheckResult, type RunReport, byStage, countStates, failures, gradeHint, gradeRows } from './model.ts';

export interface ConsoleStyle {
  color: boolean;
  unicode: boolean;
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function consoleStyle(stream: NodeJS.WriteStream, format: string): ConsoleStyle {
  const tty = stream.isTTY === true;
  return {
    color: format === 'pretty' && tty && !('NO_COLOR' in process.env && process.env.NO_COLOR !== ''),
    unicode: format === 'pretty',
  };
}

const CODES: Record<CheckResult['state'], number> = { passed: 32, failed: 31, error: 33, skipped: 90 };

function paint(style: ConsoleStyle, state: CheckResult['state'], text: string): string {
  return style.color ? `\u001b[${CODES[state]}m${text}\u001b[39m` : text;
}

export function stateGlyph(style: ConsoleStyle, state: CheckResult['state']): string {
  const m = style.unicode
    ? { passed: '✓', failed: '✗', error: '!', skipped: '↓' }[state]
    : { passed: 'ok', failed: 'FAIL', error: 'ERR', skipped: 'skip' }[state];
  return paint(style, state, m);
}

export function renderSummary(report: RunReport, style: ConsoleStyle): string {
  const lines: string[] = [];
  for (const c of failures(report.checks)) {
    lines.push(
      '',
      `${stateGlyph(style, c.state)} ${visibleLine(c.title)}`,
      `    expected: ${visible(c.expected ?? '')}`,
      `    observed: ${visible(c.observed ?? '')
        .split('\n')
        .join('\n              ')}`,
      `    hint:     ${visible((report.grade ? gradeHint(c) : c.hint) ?? '')}`,
    );
  }
  lines.push('', ' stage           passed  failed  errors  skipped    time');
  for (const { stage, checks, durationMs } of byStage(report.checks)) {
    const n = countStates(checks);
    const counts = [n.passed, n.failed, n.error].map((x) => String(x).padStart(6)).join('  ');
    const time = (durationMs / 1000).toFixed(1).padStart(5);
    lines.push(` ${visibleLine(stage).padEnd(15)} ${counts}  ${String(n.skipped).padStart(7)}  ${time} s`);
  }
  const n = countStates(report.checks);
  const totals = `${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`;
  const run = visibleLine(`(${report.host}, ${report.mode}, profile ${report.profile})`);
  lines.push('', `${paint(style, n.failed + n.error ? 'failed' : 'passed', totals)} ${run}`);
  return lines.join('\n');
}

/** A grade on the console: every check with its state, weight and hint, then the score. */
export function renderGradeTable(report: RunReport): string {
  const grade = report.grade!;
  const rows = gradeRows(report).map(
    (r) =>
      ` ${visibleLine(r.id).padEnd(4)} ${r.state.padEnd(8)} ${String(r.weight).padStart(6)}  ${visibleLine(r.hint)}`,
  );
  return [
    '',
    ' ID   state    weight  hint',
    ...rows,
    '',
    `score ${grade.score}/${grade.maxScore} (${grade.percent}%)`,
  ].join('\n');
}
