/**
 * The coach on the console. On a terminal: one screen, redrawn in place, that fits an 80×24
 * terminal beside the student's shell. Elsewhere (a lab platform's log, tmux's pipe-pane): one
 * line per change. A host's words (a cause quoting a path it named) are shown as text only.
 */
import { visibleLine } from '../host/host-text.ts';
import type { ConsoleStyle } from '../reporters/console.ts';
import type { Board, Section } from './board.ts';

/** The widest screen drawn: an 80-column terminal beside the student's shell. */
const WIDTH = 80;

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** `text` in the colour `code` (SGR), on a terminal that shows colour. */
export function paint(style: ConsoleStyle, code: number, text: string): string {
  return style.color ? `\u001b[${code}m${text}\u001b[39m` : text;
}

/** Draws `lines` over the `drawn` lines drawn last (0: none yet), in place; returns how many
 * lines are on the screen now. */
export function redraw(lines: string[], drawn: number): number {
  process.stdout.write(`${drawn ? `\u001b[${drawn}A\r` : ''}\u001b[0J${lines.join('\n')}\n`);
  return lines.length;
}

function glyph(style: ConsoleStyle, s: Section): string {
  if (s.state === 'done') return paint(style, 32, style.unicode ? '✓' : 'ok');
  if (s.state === 'here') return paint(style, s.broken ? 31 : 36, style.unicode ? '→' : '>>');
  return paint(style, s.broken ? 31 : 90, style.unicode ? '·' : '..');
}

/** The screen: a header, the sections with "you are here", a status line. */
export function renderScreen(
  board: Board,
  meta: { host: string; at: Date; tookMs: number; watching: boolean; columns?: number },
  style: ConsoleStyle,
) {
  const time = meta.at.toTimeString().slice(0, 8);
  // a line wider than the terminal would wrap, and the redraw in place would miscount
  const width = Math.min(WIDTH, meta.columns || WIDTH);
  const header = `lesson-check coach · ${visibleLine(meta.host)} · checked ${time} in ${seconds(meta.tookMs)}`;
  const lines = [fit(header, width), ''];
  for (const s of board.sections) {
    const label = `${glyph(style, s)} ${s.name}`;
    const note =
      s.state === 'here'
        ? s.broken
          ? 'broken again: you are here'
          : 'you are here'
        : s.broken
          ? 'broken again'
          : (s.milestone ?? '');
    lines.push(fit(`  ${label}${note ? `   ${note}` : ''}`, width + (label.length - visibleWidth(label))));
    if (s.state === 'here' && s.next) lines.push(fit(`      next: ${visibleLine(s.next.says)} (${s.next.id})`, width));
    if (s.state === 'here' && s.milestone) lines.push(fit(`      ${s.milestone}`, width));
  }
  const done = board.sections.filter((s) => s.state === 'done').length;
  const watching = meta.watching ? ' · watching · Ctrl-C stops' : '';
  lines.push(
    '',
    fit(
      board.here === undefined
        ? `all ${board.sections.length} sections complete: the lesson is done${watching}`
        : `${done} of ${board.sections.length} sections complete${watching}`,
      width,
    ),
  );
  return lines;
}

/** The width a painted label takes on the screen (colour codes take none). */
function visibleWidth(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[\d+m/g, '').length;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Lines for a log: what changed from `before` to `after` (everything at the first look). */
export function changeLines(before: Board | undefined, after: Board, at: Date): string[] {
  const time = at.toISOString().slice(11, 19);
  const lines: string[] = [];
  for (const [i, s] of after.sections.entries()) {
    const was = before?.sections.find((b) => b.name === s.name);
    const now = s.state === 'done' ? 'done' : s.broken ? 'broken' : undefined;
    const then = was && (was.state === 'done' ? 'done' : was.broken ? 'broken' : undefined);
    if (now && now !== then && (before || now === 'done')) lines.push(`${time} ${now}: ${s.name}`);
    if (s.milestone && s.milestone !== was?.milestone) lines.push(`${time} milestone: ${s.name}: ${s.milestone}`);
    if (i === after.here) {
      const wasHere = before?.here !== undefined ? before.sections[before.here] : undefined;
      if (wasHere?.name !== s.name || wasHere.next?.says !== s.next?.says)
        lines.push(
          `${time} you are here: ${s.name}${s.next ? `: next: ${visibleLine(s.next.says)} (${s.next.id})` : ''}`,
        );
    }
  }
  if (after.here === undefined && before?.here !== undefined) lines.push(`${time} all sections complete`);
  if (after.here === undefined && !before) lines.push(`${time} all sections complete`);
  return lines;
}
