/** The console's end-of-run view: a summary table per stage and the failures with their hints. */
import { type CheckResult, type RunReport, countStates, gradeHint } from './model.ts';

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

export function paint(style: ConsoleStyle, state: CheckResult['state'], text: string): string {
  return style.color ? `\u001b[${CODES[state]}m${text}\u001b[39m` : text;
}

export function mark(style: ConsoleStyle, state: CheckResult['state']): string {
  const m = style.unicode
    ? { passed: '✓', failed: '✗', error: '!', skipped: '↓' }[state]
    : { passed: 'ok', failed: 'FAIL', error: 'ERR', skipped: 'skip' }[state];
  return paint(style, state, m);
}

export function renderSummary(report: RunReport, style: ConsoleStyle): string {
  const lines: string[] = [];
  const bad = report.checks.filter((c) => c.state === 'failed' || c.state === 'error');
  for (const c of bad) {
    lines.push(
      '',
      `${mark(style, c.state)} ${c.title}`,
      `    expected: ${c.expected ?? ''}`,
      `    observed: ${(c.observed ?? '').split('\n').join('\n              ')}`,
      `    hint:     ${(report.grade ? gradeHint(c) : c.hint) ?? ''}`,
    );
  }
  lines.push('', ' stage           passed  failed  errors  skipped    time');
  for (const stage of [...new Set(report.checks.map((c) => c.stage))]) {
    const checks = report.checks.filter((c) => c.stage === stage);
    const n = countStates(checks);
    const ms = checks.reduce((s, c) => s + c.durationMs, 0);
    lines.push(
      ` ${stage.padEnd(15)} ${String(n.passed).padStart(6)}  ${String(n.failed).padStart(6)}  ${String(n.error).padStart(6)}  ${String(n.skipped).padStart(7)}  ${(ms / 1000).toFixed(1).padStart(5)} s`,
    );
  }
  const n = countStates(report.checks);
  lines.push(
    '',
    `${paint(style, n.failed + n.error ? 'failed' : 'passed', `${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`)} (${report.host}, ${report.mode}, profile ${report.profile})`,
  );
  return lines.join('\n');
}
