/** A Markdown summary for CI step summaries: counts per host and stage, then failures with hints.
 * Host text is shown through host-text.ts, then escaped for Markdown. */
import { visible, visibleLine } from '../host-text.ts';
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
    const score = r.grade ? `, score **${r.grade.score}/${r.grade.maxScore} (${r.grade.percent}%)**` : '';
    lines.push(
      `**${md(r.host)}** — ${r.mode}, profile \`${md(r.profile)}\`, source ${md(r.source)}${standIn}${score}`,
      '',
    );
    if (r.inventory) lines.push(`${md(r.inventory)}`, '');
    lines.push('| stage | passed | failed | errors | skipped | time |', '|---|---:|---:|---:|---:|---:|');
    for (const { stage, checks, durationMs } of byStage(r.checks)) {
      const n = countStates(checks);
      const time = `${(durationMs / 1000).toFixed(1)} s`;
      lines.push(`| ${md(stage)} | ${n.passed} | ${n.failed} | ${n.error} | ${n.skipped} | ${time} |`);
    }
    lines.push('');
    for (const c of failures(r.checks)) {
      const hint = r.grade ? gradeHint(c) : c.hint;
      lines.push(
        `<details><summary>${ICON[c.state]} <b>${md(c.title)}</b></summary>`,
        '',
        `- expected: ${md(c.expected ?? '')}`,
        `- observed: ${codeBlock(c.observed ?? '')}`,
        `- hint: ${md(hint ?? '')}`,
        '',
        '</details>',
        '',
      );
    }
    const skipped = r.checks.filter((c) => c.state === 'skipped');
    if (skipped.length)
      lines.push(`Skipped: ${skipped.map((c) => `${c.id} (${md(c.skipReason ?? '')})`).join('; ')}`, '');
  }
  return `${lines.join('\n')}\n`;
}

function md(s: string): string {
  return visibleLine(s)
    .replace(/[|<>]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/\n/g, ' ');
}

function codeBlock(text: string): string {
  const s = visible(text);
  return s.includes('\n')
    ? `\n\n  \`\`\`\n${s
        .replace(/```/g, "'''")
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')}\n  \`\`\``
    : `\`${s.replace(/`/g, "'")}\``;
}
