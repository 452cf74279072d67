/** A Markdown summary for CI step summaries: counts per host and stage, then failures with hints.
 * Host text is shown through host-text.ts, then written so that it renders as the very text it
 * is: GitHub renders this file, and a host's text must not become a link, an image, a heading,
 * emphasis, a mention or an emoji there. Only our own fixed strings are Markdown. */
import { visible, visibleLine } from '../host/host-text.ts';
import { type CheckResult, type RunReport, byStage, countStates, failures, gradeHint } from './model.ts';

const ICON: Record<CheckResult['state'], string> = { passed: '✅', failed: '❌', error: '⚠️', skipped: '⏭️' };

export function renderMarkdown(reports: RunReport[]): string {
  const all = reports.flatMap((r) => r.checks);
  const total = countStates(all);
  const lines = [
    `## lesson-check: ${total.passed} passed, ${total.failed} failed, ${total.error} errors, ${total.skipped} skipped`,
    '',
  ];
  for (const r of reports) {
    const standIn = r.standInImages ? ', stand-in images' : '';
    const score = r.grade
      ? `, score **${num(r.grade.score)}/${num(r.grade.maxScore)} (${num(r.grade.percent)}%)**`
      : '';
    lines.push(
      `**${text(r.host)}** — ${text(r.mode)}, profile ${codeSpan(visibleLine(r.profile))}, ` +
        `source ${text(r.source)}${standIn}${score}`,
      '',
    );
    if (r.inventory) lines.push(text(r.inventory), '');
    lines.push('| stage | passed | failed | errors | skipped | time |', '|---|---:|---:|---:|---:|---:|');
    for (const { stage, checks, durationMs } of byStage(r.checks)) {
      const n = countStates(checks);
      const time = `${(durationMs / 1000).toFixed(1)} s`;
      lines.push(`| ${text(stage)} | ${n.passed} | ${n.failed} | ${n.error} | ${n.skipped} | ${time} |`);
    }
    lines.push('');
    for (const c of failures(r.checks)) {
      const hint = r.grade ? gradeHint(c) : c.hint;
      lines.push(
        // a raw HTML block: Markdown is not read on this line, so its text is written as entities
        `<details><summary>${ICON[c.state]} <b>${htmlText(c.title)}</b></summary>`,
        '',
        `- expected: ${prose(c.expected ?? '')}`,
        `- observed: ${codeBlock(c.observed ?? '')}`,
        `- hint: ${prose(hint ?? '')}`,
        '',
        '</details>',
        '',
      );
    }
    const skipped = r.checks.filter((c) => c.state === 'skipped');
    if (skipped.length)
      lines.push(`Skipped: ${skipped.map((c) => `${text(c.id)} (${prose(c.skipReason ?? '')})`).join('; ')}`, '');
  }
  return `${lines.join('\n')}\n`;
}

/** ASCII punctuation: CommonMark lets a backslash make any of it literal. */
const PUNCTUATION = /[!-/:-@[-`{-~]/g;
/** A zero-width space, written as an entity so that the file holds no invisible character. */
const ZERO_WIDTH_SPACE = '&#8203;';
const EMOJI_NAME = /[\w+-]+:/y;

/** Host text as literal Markdown on one line: every ASCII punctuation character escaped, so that
 * no emphasis, link, image, heading, list, table cell or autolink (www., scheme:, email) starts. */
function text(s: string): string {
  return literal(visibleLine(s), (c) => `\\${c}`);
}

/** Host text inside a raw HTML line: numeric entities, literal whether or not HTML is rendered. */
function htmlText(s: string): string {
  return literal(visibleLine(s), (c) => `&#${c.charCodeAt(0)};`);
}

/** A number of a report as it is, or (a results.json may have been edited) as literal text. */
function num(n: unknown): string {
  return typeof n === 'number' && Number.isFinite(n) ? String(n) : text(String(n));
}

/** Prose that may quote commands in single backticks, as our hints do: those become code spans
 * (literal whatever they hold), the rest literal text. A backtick next to another is text: two
 * code spans side by side would make one run of backticks of their fences. */
function prose(s: string): string {
  return visibleLine(s)
    .split(/((?<!`)`[^`]+`(?!`))/)
    .map((part, i) => (i % 2 ? codeSpan(part.slice(1, -1)) : literal(part, (c) => `\\${c}`)))
    .join('');
}

/** `shown` with each ASCII punctuation character written by `escape`, and a zero-width space
 * after the sign of a mention (`@name`) or an emoji code (`:name:`): GitHub finds those in the
 * rendered text, after escapes are undone. */
function literal(shown: string, escape: (c: string) => string): string {
  return shown.replace(PUNCTUATION, (c: string, at: number) => {
    const mention = c === '@' && !/[\w`]/.test(shown[at - 1] ?? ' ') && /\w/.test(shown[at + 1] ?? '');
    EMOJI_NAME.lastIndex = at + 1;
    const emoji = c === ':' && EMOJI_NAME.test(shown);
    return escape(c) + (mention || emoji ? ZERO_WIDTH_SPACE : '');
  });
}

/** Shown text as a code span: fenced by more backticks than its longest run of them, and padded
 * when it starts or ends with a backtick or a space (CommonMark takes one space off each end). */
function codeSpan(shown: string): string {
  if (shown === '') return '';
  const fence = '`'.repeat(longestBacktickRun(shown) + 1);
  const pad = /^[ `]|[ `]$/.test(shown) && !/^ +$/.test(shown) ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/** Host text as a code span, or a fenced block in the list item when it has several lines; the
 * fence is longer than any run of backticks in it, so nothing it holds can close it. */
function codeBlock(text: string): string {
  const s = visible(text);
  if (!s.includes('\n')) return codeSpan(s);
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(s) + 1));
  const body = s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `\n\n  ${fence}\n${body}\n  ${fence}`;
}

function longestBacktickRun(s: string): number {
  return (s.match(/`+/g) ?? []).reduce((longest, run) => Math.max(longest, run.length), 0);
}
