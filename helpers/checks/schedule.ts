/**
 * The scheduling rules, as pure functions of the checks' declarations and the outcomes recorded so
 * far: no state of its own, no I/O. The engine (check.ts) asks them as a run goes; `resolve` asks
 * them for a whole run at once, given what each check's own body would come to.
 *
 * - A check runs only when every check it **needs** passed; otherwise it is skipped as
 *   `blocked by <ID>: <why>`, naming the first need (in the order declared) that did not pass.
 * - A need skipped in its turn passes its reason on: the root cause is named, not the chain (R6
 *   blocked by C2 makes K4 "blocked by C2: …"), and a need not applicable here makes its
 *   dependents not applicable too.
 * - A need that has no outcome (left out of the run with --only) blocks nothing.
 * - A failure that leaves what the checks after it need intact (`dependentsMayRun`: true, or a
 *   list of the checks that may still run) blocks none of them, or none of those listed.
 * - A check that has started counts as failed until it ends ("did not finish within N ms"): one
 *   that times out still blocks the checks that need it.
 * - Inspecting, a check runs alongside the needs it is **judged after**: it starts once its
 *   other needs have passed, and once those have ended too it is judged, or blocked by one that
 *   did not pass, whatever its own body found (and stopped as soon as that is known). Walking,
 *   every need comes first.
 * - A check that talks to containerd and failed asks whether containerd still answers, unless it
 *   failed in its lesson step or was stopped: a daemon gone (or too slow to answer) makes the
 *   failure an error of the run, not a fact of the host.
 */
import type { Outcome } from './ledger.ts';

/** What the scheduler needs to know of a check (the catalogue's entry is one). */
export interface Declaration {
  id: string;
  needs: readonly string[];
  judgedAfter: readonly string[];
  needsDaemon: boolean;
}

/** The outcomes recorded so far, by check ID. */
export type Outcomes = (id: string) => Outcome | undefined;

/** Why a check does not run: `blocked by <ID>: <why>`, or why it cannot apply here. */
export interface Blocker {
  why: string;
  kind: 'blocked' | 'not-applicable';
}

/** What a check waits for: `first`, before it starts; `later`, before it is judged (inspecting
 * only: the needs it is judged after, which it runs alongside). */
export function plan(d: Declaration, concurrent: boolean): { first: string[]; later: string[] } {
  const later = concurrent ? d.needs.filter((n) => d.judgedAfter.includes(n)) : [];
  return { first: d.needs.filter((n) => !later.includes(n)), later };
}

/** The first of `needs` that blocks check `id`, or undefined: it may run (or be judged). */
export function blockerOf(id: string, needs: readonly string[], outcomes: Outcomes): Blocker | undefined {
  for (const need of needs) {
    const o = outcomes(need);
    if (!o || o.state === 'passed' || o.soft === true || (Array.isArray(o.soft) && o.soft.includes(id))) continue;
    if (o.state === 'failed') return { why: `blocked by ${need}: ${o.why}`, kind: 'blocked' };
    // name the root cause, not the chain: R6 skipped for C2 makes K4 "blocked by C2: …"
    return { why: o.why, kind: o.skipKind ?? 'blocked' };
  }
  return undefined;
}

/** Before a check starts: blocked by one of the needs it waits for first, or undefined (it runs). */
export function beforeStart(d: Declaration, outcomes: Outcomes, concurrent: boolean): Blocker | undefined {
  return blockerOf(d.id, plan(d, concurrent).first, outcomes);
}

/** Once the needs it runs alongside have ended: blocked by one of them, whatever its own body
 * found, or undefined (it is judged on its own). */
export function onceJudged(d: Declaration, outcomes: Outcomes, concurrent: boolean): Blocker | undefined {
  return blockerOf(d.id, plan(d, concurrent).later, outcomes);
}

/** The outcome of a check that has started and not yet ended: it blocks as a failure would. */
export function unfinished(timeoutMs: number): Outcome {
  return { state: 'failed', why: `did not finish within ${timeoutMs} ms` };
}

/** The outcome a blocked check records. */
export function blockedOutcome(b: Blocker): Outcome {
  return { state: 'skipped', why: b.why, skipKind: b.kind };
}

/** Whether a failed check asks if containerd still answers: it talks to containerd, and failed
 * in its body (not in its lesson step), not stopped halfway (its time limit, the run interrupted). */
export function asksDaemon(d: Declaration, failed: { inStep: boolean; stopped: boolean }): boolean {
  return d.needsDaemon && !failed.inStep && !failed.stopped;
}

/** What ctr says when the daemon behind its socket is gone (or going). */
const GONE = new RegExp(
  [
    'connection refused',
    'connection reset by peer',
    'no such file or directory',
    'error reading from server',
    'transport is closing',
  ].join('|'),
);

/** What `ctr version`, asked after a failure, says of containerd behind `socket`: 'gone' (it
 * does not answer there), 'slow' (no answer within the probe's limit: a loaded host would read
 * as a gone daemon otherwise), or undefined (it answers, or fails for another reason). */
export function daemonState(
  r: { exitCode: number | null; timedOut?: boolean; stderr: string },
  socket: string,
): 'gone' | 'slow' | undefined {
  if (r.exitCode === 0) return undefined;
  if (r.timedOut) return 'slow';
  return r.stderr.includes(socket) && GONE.test(r.stderr) ? 'gone' : undefined;
}

/** What a check's own body comes to, when it is let run. */
export type OwnResult =
  | { state: 'passed' }
  | { state: 'failed'; why: string; soft?: boolean | string[] }
  | { state: 'skipped'; why: string; skipKind: 'not-applicable' };

/**
 * The outcomes a whole run comes to, from the declarations in the order they are declared and
 * what each check's body would find (`own`; a check absent from it is left out of the run, as
 * by --only). The engine comes to the same outcomes check by check, with the same rules; the
 * order checks end in does not change them, since a check waits for what it needs.
 */
export function resolve(
  declarations: readonly Declaration[],
  own: (id: string) => OwnResult | undefined,
  concurrent: boolean,
): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  const of: Outcomes = (id) => outcomes.get(id);
  for (const d of declarations) {
    const result = own(d.id);
    if (!result) continue;
    const blocker = beforeStart(d, of, concurrent) ?? onceJudged(d, of, concurrent);
    outcomes.set(d.id, blocker ? blockedOutcome(blocker) : ownOutcome(result));
  }
  return outcomes;
}

function ownOutcome(r: OwnResult): Outcome {
  if (r.state === 'passed') return { state: 'passed', why: '' };
  if (r.state === 'skipped') return { state: 'skipped', why: r.why, skipKind: r.skipKind };
  return { state: 'failed', why: r.why, ...(r.soft !== undefined ? { soft: r.soft } : {}) };
}
