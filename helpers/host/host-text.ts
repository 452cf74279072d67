/**
 * Text that came from a host is data, written by whoever is root there (a graded host's student).
 * It leaves the program only through these functions, at the place where it leaves (the console,
 * Markdown, CSV, JSON, HTML, JUnit), never per check: whatever a terminal, a spreadsheet or a
 * reader would act on instead of showing is made visible, and the text itself stays.
 *
 * - C0 controls but newline and tab, DEL and the C1 controls (U+0080–U+009F, which terminals
 *   honour as CSI, OSC… just as ESC sequences) become `\xNN`, carriage return `\r`;
 * - the bidirectional controls (U+202A–U+202E, U+2066–U+2069, and the marks U+061C, U+200E,
 *   U+200F), which reorder what a reader sees, and the line and paragraph separators
 *   (U+2028, U+2029) become `\u{NNNN}`;
 * - a lone surrogate (no UTF-8 decoder makes one, but a JSON document may hold one) becomes U+FFFD,
 *   as invalid UTF-8 already does when a command's output is decoded.
 */

import { createHash } from 'node:crypto';

/* eslint-disable no-control-regex -- finding control characters is the point of this file */
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const CONTROL_OR_LAYOUT = /[\u0000-\u001F\u007F-\u009F]/g;
/* eslint-enable no-control-regex */
const REORDERING = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function shown(c: string): string {
  if (c === '\r') return '\\r';
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** Host text to show on several lines: newlines and tabs stay, every other control is visible. */
export function visible(text: string): string {
  return text.replace(CONTROL, shown).replace(REORDERING, shown).replace(LONE_SURROGATE, '\uFFFD');
}

/** Host text to show within one line (a table cell, a progress line): newlines and tabs too. */
export function visibleLine(text: string): string {
  return text.replace(CONTROL_OR_LAYOUT, shown).replace(REORDERING, shown).replace(LONE_SURROGATE, '\uFFFD');
}

/** At most `max` characters of a one-line field, saying how much was left out. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} characters more)`;
}

/**
 * A value as JSON whose bytes hold no control character at all: JSON.stringify already writes
 * U+0000–U+001F as \u escapes; DEL, the C1 controls and the reordering characters are escaped
 * the same way (they can only stand inside strings). JSON.parse gives the very same value back.
 */
export function safeJson(value: unknown, indent = 2): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return JSON.stringify(value, null, indent)
    .replace(/[\u007F-\u009F]/g, escape)
    .replace(REORDERING, escape)
    .replace(LONE_SURROGATE, '\\ufffd');
}

/**
 * One CSV field (RFC 4180 quoting) that no spreadsheet evaluates: a cell beginning with `=`, `+`,
 * `-`, `@`, tab or CR is a formula to Excel, LibreOffice and Google Sheets, so it is written after
 * a `'` (OWASP's rule for CSV injection), whatever the column.
 */
export function csvField(value: string): string {
  // tab and CR are made visible first (`\t`, `\r`): what is left to guard is the formula signs
  const shownText = visibleLine(value);
  const text = /^[=+\-@]/.test(shownText) ? `'${shownText}` : shownText;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The folder a host's reports go in, under `hosts/` of --reports: a name from an inventory (or a
 * URL) never becomes a path as it came. Letters, digits and `._@+-` stay, anything else becomes
 * `_`, a leading dot or dash too, and the name is cut to 80 characters; a name so changed, or one
 * that differs from another host's only by case (one folder on a case-insensitive file system),
 * gets a hash of the whole name, so that no two hosts share a folder.
 */
export function reportFolderName(name: string, classNames: readonly string[] = [name]): string {
  const tame = (n: string) =>
    n
      .replace(/[^\w.@+-]/g, '_')
      .replace(/^[.-]/, '_')
      .slice(0, 80) || '_';
  const folder = tame(name);
  const sameFolder = classNames.filter((n) => n !== name && tame(n).toLowerCase() === folder.toLowerCase());
  if (folder === name && sameFolder.length === 0) return folder;
  return `${folder}-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
}

/** The first line of a message, cut to fit a one-line field (a JUnit message, a skip reason). */
export function firstLine(s: string, max = 300): string {
  return (s.split('\n')[0] ?? s).slice(0, max);
}
