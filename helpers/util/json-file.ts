/** State files (lab.json, machine.json, vm.json) written whole or not at all: a run killed
 * mid-write leaves the previous version, which teardown and `--down` can still read. */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export function writeJsonAtomically(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** A state file's value, as its writer left it (throws when it is missing or not JSON). */
export function readJsonFile<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** A state file's value, or undefined when there is none to read (gone, never written, not JSON). */
export function readJsonFileIfAny<T>(file: string): T | undefined {
  try {
    return readJsonFile<T>(file);
  } catch {
    return undefined;
  }
}
