/** How a check fails: what the lesson says must hold, what was found, and the hint. Free of the
 * engine (check.ts re-exports it), so that a probe outside it (helpers/system/service.ts) can
 * word a failure without depending on the run. */
export interface CheckDetails {
  /** What the lesson says must hold. */
  expected: string;
  /** What was found: the command as run, its exit code and stderr tail, attempts against a limit. */
  observed: string;
  /** For operators: the likely cause and the next command to run. */
  hint: string;
  /** For graders: the likely cause in a few words, without the fix ("runc is not executable"). */
  cause?: string;
  /** The failure leaves what later checks need intact (a wrong value, not an unreadable file):
   * true for every check that needs this one, or a list of those that may still run (the others
   * would only fail again for the same mistake, and are blocked by it). */
  dependentsMayRun?: boolean | string[];
}

/** The host is not in the state the lesson promises. */
export class CheckFailure extends Error {
  constructor(readonly details: CheckDetails) {
    super(`${details.expected}\n  observed: ${details.observed}\n  hint: ${details.hint}`);
    this.name = 'CheckFailure';
  }
}

/** Fails the running check. */
export function fail(details: CheckDetails): never {
  throw new CheckFailure(details);
}

/** Fails the running check unless `condition` holds. */
export function require(condition: unknown, details: CheckDetails | (() => CheckDetails)): asserts condition {
  if (!condition) fail(typeof details === 'function' ? details() : details);
}
