import { InventoryError } from './tree.ts';

/**
 * Splits text into words as Ansible does, with Python's shlex in POSIX mode: words apart at
 * blanks, quotes grouping and removed, a backslash outside quotes taking the next character and
 * inside double quotes only before `"` or `\`; with `comments`, a `#` outside quotes ends the line
 * (INI host lines). Used for INI host lines and for ansible_ssh_common_args/_extra_args, whose
 * words reach ssh as arguments of their own, never through a shell: `$(…)` or `;` in them is text.
 */
export function splitShellWords(text: string, where: string, { comments = false } = {}): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const next = text[i + 1] ?? '';
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && (next === '"' || next === '\\')) word += text[++i];
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (comments && ch === '#') {
      break;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (!next) throw new InventoryError(`${where}: a lone backslash ends ${text}`);
      word += text[++i];
      inWord = true;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new InventoryError(`${where}: an unclosed ${quote} in ${text}`);
  if (inWord) words.push(word);
  return words;
}
