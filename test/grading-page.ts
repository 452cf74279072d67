// docs/GRADING.md, the graders' calibration: made from the catalogue of single mistakes
// (test/mistakes.ts) and the checks the suites declare, so that a grader can predict a score
// before a class runs. `npm run grading` writes it; test/catalogue.test.ts fails when it is stale.
import type { DeclaredCheck } from '../helpers/commands/list.ts';
import { MISTAKES, type Mistake } from './mistakes.ts';

/** A cause as a reader sees it: a pattern's variable parts as "…" and "N". */
function causeText(cause: string | RegExp): string {
  if (typeof cause === 'string') return cause;
  return cause.source
    .replace(/^\^|\$$/g, '')
    .replace(/\\S\+/g, '…')
    .replace(/\\d\+/g, 'N')
    .replace(/\\(.)/g, '$1');
}

/** Text for a markdown table's cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

export function renderGradingPage(checks: DeclaredCheck[]): string {
  const byId = new Map(checks.map((c) => [c.id, c]));
  const order = (ids: string[]) => checks.map((c) => c.id).filter((id) => ids.includes(id));
  const total = checks.reduce((s, c) => s + c.weight, 0);
  const cost = (m: Mistake) =>
    [...Object.keys(m.fails), ...(m.blocks ?? [])].reduce((s, id) => s + byId.get(id)!.weight, 0);
  const score = (m: Mistake) => `${total - cost(m)}/${total} (${Math.round(((total - cost(m)) / total) * 1000) / 10}%)`;
  const where = (m: Mistake) => (m.on === 'lab' ? 'lab' : 'machine (systemd)');
  const lines = [
    '# Grading calibration: what each mistake costs',
    '',
    '<!-- Generated from test/mistakes.ts by `npm run grading`; test/catalogue.test.ts fails when it is stale. -->',
    '',
    `A grade is the points of the checks that passed over the points of every check that applies (${total}`,
    'for the lesson; the host checks weigh 0). One mistake fails the checks whose facts it breaks, each',
    'with a hint that names that mistake; the checks that cannot run without what it broke are skipped',
    'as "blocked by" it. A blocked check earns nothing, since it could not be shown to work, and its',
    'points are charged to the mistake that blocked it: the grade shows one failure, one hint, and the',
    "mistake's whole cost. (Leaving blocked checks out of the total instead would let a student raise",
    'a score by breaking an earlier step: with runc removed, every failure that needs it is hidden.)',
    '',
    'Every mistake below is made, graded and put right by the tests: on a kept sandbox lab',
    '(test/mistakes.test.ts) or, where it needs systemd, on a machine (test/machine.test.ts). Each',
    'asserts exactly these failures, causes, blocked checks and points.',
    '',
    '## By check',
    '',
  ];
  for (const c of checks.filter((x) => x.weight > 0)) {
    const failing = MISTAKES.filter((m) => c.id in m.fails);
    lines.push(`### ${c.id} (${c.weight} ${c.weight === 1 ? 'point' : 'points'}): ${c.section}`, '');
    lines.push(`${c.title.slice(c.id.length + 1)}.`, '');
    if (!failing.length) lines.push('No mistake of the catalogue fails it alone.', '');
    else {
      lines.push('| mistake | cause in the grade | also blocks | points lost | score |', '|---|---|---|---:|---:|');
      for (const m of failing) {
        const row = [m.mistake, causeText(m.fails[c.id]!), order(m.blocks ?? []).join(', ') || '—'];
        lines.push(`| ${row.map(cell).join(' | ')} | ${cost(m)} | ${score(m)} |`);
      }
      const notes = failing.filter((m) => m.why);
      if (notes.length) lines.push('', ...notes.map((m) => `- ${m.mistake}: ${m.why}.`));
      lines.push('');
    }
  }
  const harmless = MISTAKES.filter((m) => Object.keys(m.fails).length === 0);
  lines.push('## Mistakes that cost nothing', '');
  for (const m of harmless) lines.push(`- ${m.mistake} (${where(m)}): ${m.why ?? 'no fact of the lesson is broken'}.`);
  lines.push('', '## Every mistake, where it is tested', '');
  lines.push('| mistake | tested on | fails | sent back to |', '|---|---|---|---|');
  for (const m of MISTAKES) {
    const ids = Object.keys(m.fails);
    const sections = [...new Set(ids.map((id) => byId.get(id)!.section))];
    const row = [m.mistake, where(m), ids.join(', ') || '—', sections.join('; ') || '—'];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
