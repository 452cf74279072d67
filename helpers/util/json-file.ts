/** State files (lab.json, machine.json, vm.json) written whole or not at all: a run killed
 * mid-write leaves the previous version, which teardown and `--down` can still read. */
import { renameSync, writeFileSync } from 'node:fs';

export function writeJsonAtomically(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
  renameSync(`${file}.tmp`, file);
}
