/**
 * The run's ledger: each check's outcome, on disk in the run directory, so that a later stage
 * (another suite file, perhaps another worker) knows what it is blocked by.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export interface Outcome {
  state: 'passed' | 'failed' | 'skipped';
  why: string;
  /** A failure that does not block the checks that need this one. */
  soft?: boolean;
  skipKind?: 'blocked' | 'not-applicable';
}

const file = (runDir: string) => join(runDir, 'ledger.json');

export function readLedger(runDir: string): Record<string, Outcome> {
  try {
    return JSON.parse(readFileSync(file(runDir), 'utf8')) as Record<string, Outcome>;
  } catch {
    return {};
  }
}

export function recordOutcome(runDir: string, id: string, outcome: Outcome): void {
  const ledger = readLedger(runDir);
  ledger[id] = outcome;
  // write-then-rename: a reader never sees half a file
  writeFileSync(`${file(runDir)}.tmp`, JSON.stringify(ledger, null, 2));
  renameSync(`${file(runDir)}.tmp`, file(runDir));
}
