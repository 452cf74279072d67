/**
 * The grader's live class board (grade --watch): host × section, each cell the section's state
 * on that host, from the same boards the coach draws. On a terminal one table redrawn in place;
 * piped, one line per change per host, prefixed with the host's name (a host's name is its
 * inventory's, shown as text only).
 */
import { sectionNamed } from '../checks/catalogue.ts';
import { visibleLine } from '../host/host-text.ts';
import type { ConsoleStyle } from '../reporters/console.ts';
import type { RunReport } from '../reporters/model.ts';
import { type Board, boardOf } from './board.ts';
import { changeLines, paint } from './screen.ts';

/** Each host's board, and the sections it has had complete (for "broken again"). */
export class ClassBoard {
  private readonly boards = new Map<string, Board>();
  private readonly done = new Map<string, Set<string>>();

  /** Takes the class's reports in; returns the lines of what changed since (every host at first). */
  update(reports: RunReport[], at: Date): string[] {
    const lines: string[] = [];
    for (const r of reports) {
      const done = this.done.get(r.host) ?? new Set<string>();
      this.done.set(r.host, done);
      const board = boardOf(r, done);
      const name = visibleLine(r.host);
      for (const line of changeLines(this.boards.get(r.host), board, at)) lines.push(`${name}: ${line}`);
      this.boards.set(r.host, board);
    }
    return lines;
  }

  /** The table: a row per host, a column per section (its step number), the score. */
  render(reports: RunReport[], at: Date, style: ConsoleStyle): string[] {
    const [first] = [...this.boards.values()];
    const columns = (first?.sections ?? []).map((s) => String(sectionNamed(s.name)?.step ?? 'pre'));
    const width = Math.max(4, ...reports.map((r) => visibleLine(r.host).length));
    const lines = [
      `lesson-check grade --watch · ${reports.length} hosts · last change ${at.toTimeString().slice(0, 8)}`,
      '',
      `${'host'.padEnd(width)}  ${columns.map((c) => c.padStart(4)).join('')}  score`,
    ];
    for (const r of reports) {
      const board = this.boards.get(r.host);
      const cells = (board?.sections ?? []).map((s) => cell(style, s.state, s.broken));
      const score = r.grade ? `${r.grade.percent}%` : '';
      lines.push(`${visibleLine(r.host).padEnd(width)}  ${cells.join('')}  ${score.padStart(5)}`);
    }
    lines.push('', `✓ done  → here  ✗ broken again  · to do · steps: the lesson's · Ctrl-C to stop`);
    return lines;
  }
}

function cell(style: ConsoleStyle, state: Board['sections'][number]['state'], broken: boolean): string {
  const [text, code] = broken ? ['✗', 31] : state === 'done' ? ['✓', 32] : state === 'here' ? ['→', 36] : ['·', 90];
  const shown = style.unicode ? text : { '✓': 'ok', '→': '>>', '✗': 'XX', '·': '..' }[text]!;
  return `${' '.repeat(4 - shown.length)}${paint(style, code, shown)}`;
}
