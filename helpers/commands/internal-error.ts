/**
 * A bug in lesson-check is not a failed check: it exits 2 with one line that says where the
 * details are (the stack, for a bug report), never 1 and never a bare stack trace.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes `text` to `lesson-check-error.txt` in `dir` (or a private temp folder when `dir`
 * cannot be written); returns the file's path. */
export function writeErrorDetails(text: string, dir?: string): string {
  if (dir) {
    try {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'lesson-check-error.txt');
      writeFileSync(file, text);
      return file;
    } catch {
      // a reports folder that cannot be written: the temp folder below
    }
  }
  const file = join(mkdtempSync(join(tmpdir(), 'lesson-check-error-')), 'lesson-check-error.txt');
  writeFileSync(file, text);
  return file;
}

/** The one line for an error lesson-check did not expect, its details written aside. */
export function internalErrorLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const details = writeErrorDetails(e instanceof Error ? (e.stack ?? message) : message);
  return `lesson-check: internal error (a bug): ${message.split('\n')[0]}; details: ${details}`;
}
