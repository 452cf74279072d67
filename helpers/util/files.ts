/** Reading what may not be there (a process's /proc entries, a folder a teardown may already have
 * removed, a log never written): the answer is empty, never an error. */
import { readFileSync, readdirSync } from 'node:fs';

/** The entries of `dir`, none when it is missing or cannot be read. */
export function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The text of `file`, or `orElse` when it is missing or cannot be read. */
export function readFileSafe(file: string, orElse = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return orElse;
  }
}

/** The last `n` lines of a log or a command's output, on one line. */
export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
