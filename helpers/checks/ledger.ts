/**
 * The run's ledger: each check's outcome, so that a check knows what it is blocked by. It lives in
 * memory: every check of a run is declared in one suite file (suites/lesson.test.ts) and runs in
 * one vitest worker.
 */
export interface Outcome {
  state: 'passed' | 'failed' | 'skipped';
  why: string;
  /** A failure that does not block the checks that need this one (true), or these of them. */
  soft?: boolean | string[];
  skipKind?: 'blocked' | 'not-applicable';
}

const outcomes = new Map<string, Outcome>();

export function outcomeOf(id: string): Outcome | undefined {
  return outcomes.get(id);
}

export function recordOutcome(id: string, outcome: Outcome): void {
  outcomes.set(id, outcome);
}
