/**
 * `check()` declares one catalogue check as a vitest test titled "<ID> <fact>". It skips with
 * `blocked by <ID>: <why>` when a check it needs did not pass, records its own outcome in the
 * run's ledger for the checks that need it, and hands expected/observed/hint and the command
 * transcript to the reporters through the test's meta.
 *
 * Inspecting (verify, grade), every check starts at once and waits only for the checks it needs,
 * whatever their stage (the stages' describe blocks run concurrently, and so do their checks).
 * Walking (lab, walkthrough), they run one by one, in lesson order, since each performs a lesson
 * step that the next builds on.
 */
import { appendFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'vitest';
import type { TranscriptEntry } from '../host.ts';
import { CommandError } from '../host.ts';
import { DID_NOT_ANSWER, observedCommand } from '../transport.ts';
import { type RunContext, currentRunInfo, inThisRun, loadRunContext, walks } from '../run.ts';
import { CATALOGUE } from './catalogue.ts';
import { ctr } from '../containerd.ts';
import { outcomeOf, recordOutcome } from './ledger.ts';
import { mark } from '../timing.ts';
import { clip, firstLine } from '../host-text.ts';
import { runLabel } from '../run-label.ts';

mark('worker: checks module loaded');

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

export interface CheckMeta extends Partial<CheckDetails> {
  id: string;
  stage: string;
  weight: number;
  section: string;
  /** 'failure': the host is not as the lesson says; 'error': the check could not run. */
  kind?: 'failure' | 'error';
  skipReason?: string;
  /** 'blocked': an earlier check failed; 'not-applicable': this source or host cannot have it. */
  skipKind?: 'blocked' | 'not-applicable';
  transcript: TranscriptEntry[];
  /** From the moment what it needs had ended to its own end (vitest's duration counts the wait). */
  durationMs?: number;
}

declare module 'vitest' {
  interface TaskMeta {
    check?: CheckMeta;
  }
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

/** The observed part of a failure about a command (defined beside the transport). */
export { observedCommand };

export interface CheckContext extends RunContext {
  /** True when this run drives the lesson's steps (lab, walkthrough), false when it only inspects.
   * A check body does not branch on it: what differs is declared (CheckOptions.step, .inspecting)
   * or asked for by name (`probe`). */
  walking: boolean;
  /** The containerd namespace for this run's own pulls and probe containers: the lesson's
   * (undefined = "default") when walking, the run's own `lc-<run id>` when inspecting. */
  namespace: string | undefined;
  /** A name for something this run creates: `lc-<run id>-<what>`. */
  probeName(what: string): string;
  /** Inspecting, a name of this run's own for what the lesson names itself (`lc-<run id>-<what>`);
   * walking, undefined: the walk uses the lesson's own name, container or folder. */
  probe(what: string): string | undefined;
  /** Runs a lesson step (walk modes only) and notes it in the transcript. */
  step<T>(name: string, action: () => Promise<T>): Promise<T>;
  /** Ends the check as skipped, saying why it cannot apply here. */
  skip(reason: string): never;
}

/** Thrown by `c.skip()`: the check does not apply to this host or source. */
class SkipCheck extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** What a check performs of the lesson when walking (lab, walkthrough), before its body judges
 * the state that step leaves. Inspecting, none of it runs: the host is the student's. */
export interface LessonStep {
  /** The step in the lesson's words, for the transcript and docs/CHECKS.md. */
  name: string;
  /** What must hold before the step: a walk that finds its step done already proves nothing. */
  before?: (c: CheckContext) => Promise<void>;
  /** The step itself, on the walk. Absent: the state the check proves is the one before a later
   * step (R1: no runc yet), which `before` makes sure of. */
  perform?: (c: CheckContext) => Promise<unknown>;
}

/** A part of a check that only inspecting has: a fact the walk cannot get wrong (it installed
 * the host itself) but a student's host can. Runs after the body, and fails the check as its own. */
export interface InspectingPart {
  /** What it proves, for the transcript and docs/CHECKS.md. */
  name: string;
  run: (c: CheckContext) => Promise<void>;
}

export interface CheckOptions {
  /** The lesson section a failure sends the reader back to. */
  section: string;
  /** Walking: the lesson step this check performs first. */
  step?: LessonStep;
  /** Inspecting: what this check proves besides its body. */
  inspecting?: InspectingPart;
  /** Why the check cannot apply to this host or source, before any step (a lab without nerdctl). */
  notApplicable?: (c: CheckContext) => string | undefined;
  /** Checks that must have passed for this one to be meaningful. */
  needs?: string[];
  /** Of `needs`, those this check may run alongside when inspecting, since its commands do no
   * harm whatever those find: it starts once the others have passed, and is judged only once these
   * have too; if one did not pass, the check is stopped and blocked by it, as ever. For the
   * checks on the longest chain of needs (C1 → C2 → C3 → R6 → K4). Walking, every need comes first. */
  judgedAfter?: string[];
  /** Points in a grade (default 1). */
  weight?: number;
  timeoutMs?: number;
}

let currentStage = '';
/** Resolves once a check has its outcome in the ledger. */
const settled = new Map<string, Promise<void>>();
let concurrent: boolean | undefined;

/** Whether this run's checks run at once: only when inspecting. (Without a run,
 * `lesson-check verify --list` is only collecting the titles.) */
function runsConcurrently(): boolean {
  const info = currentRunInfo();
  concurrent ??= info !== undefined && !walks(info.mode);
  return concurrent;
}

/** A stage of the lesson: one suite module, one JUnit testsuite. */
export function stage(name: string, body: () => void): void {
  describe(name, { concurrent: runsConcurrently() }, () => {
    currentStage = name;
    body();
  });
}

/** `title` is the check's ID and the fact it proves: "R6 ctr run succeeds once runc is installed". */
export function check(title: string, options: CheckOptions, body: (c: CheckContext) => Promise<void>): void {
  const id = title.split(' ')[0]!;
  if (!/^[A-Z]\d+$/.test(id)) throw new Error(`check title must start with its ID: ${title}`);
  const stageName = currentStage;
  const needs = options.needs ?? [];
  const order = (x: string) => CATALOGUE.findIndex((e) => e.id === x);
  for (const need of needs)
    if (!(order(need) >= 0 && order(need) < order(id)))
      throw new Error(`${id} needs ${need}, which is not an earlier check of the catalogue`);
  if (order(id) < 0 || CATALOGUE[order(id)]!.stage !== currentStage)
    throw new Error(`${id} is not a check of stage ${currentStage} in helpers/checks/catalogue.ts`);
  // `lesson-check verify --list` collects the declarations (docs/CHECKS.md is made from them)
  const declarations = process.env.LC_DECLARATIONS;
  if (declarations) {
    const declared = {
      id,
      title,
      stage: currentStage,
      section: options.section,
      needs,
      weight: options.weight ?? 1,
      ...(options.step ? { step: options.step.name } : {}),
      ...(options.inspecting ? { inspecting: options.inspecting.name } : {}),
    };
    appendFileSync(declarations, `${JSON.stringify(declared)}\n`);
  }
  // a check left out by --only never runs: nothing may wait for it
  let settle = () => {};
  if (inThisRun(id)) settled.set(id, new Promise<void>((resolve) => (settle = resolve)));
  const later = runsConcurrently() ? needs.filter((n) => options.judgedAfter?.includes(n)) : [];
  const first = needs.filter((n) => !later.includes(n));
  const awaitChecks = (ids: string[]) => Promise.all(ids.map((n) => settled.get(n) ?? Promise.resolve()));
  test(title, { timeout: options.timeoutMs ?? 120_000, concurrent: runsConcurrently() }, async (ctx: TestContext) => {
    // a check abandoned on timeout has its outcome recorded already (below): release its waiters
    ctx.signal.addEventListener('abort', settle, { once: true });
    try {
      await awaitChecks(first);
      mark(`check ${id}: start`);
      const started = performance.now();
      try {
        await runCheck(ctx, id, stageName, { ...options, needs: first }, body, {
          ids: later,
          settled: () => awaitChecks(later),
        });
      } finally {
        const meta = ctx.task.meta.check;
        if (meta) meta.durationMs = Math.round(performance.now() - started);
      }
    } finally {
      mark(`check ${id}: end`);
      settle();
    }
  });
}

/** A check as declared: not applicable, or its lesson step (walking), its body, and its
 * inspecting part. */
async function declaredAndBody(
  c: CheckContext,
  options: CheckOptions,
  body: (c: CheckContext) => Promise<void>,
): Promise<void> {
  const reason = options.notApplicable?.(c);
  if (reason) c.skip(reason);
  const step = options.step;
  if (c.walking && step) {
    await step.before?.(c);
    const perform = step.perform;
    if (perform) await c.step(step.name, () => perform(c));
  }
  await body(c);
  if (!c.walking && options.inspecting) {
    c.host.note(`inspecting also: ${options.inspecting.name}`);
    await options.inspecting.run(c);
  }
}

async function runCheck(
  ctx: TestContext,
  id: string,
  stageName: string,
  options: CheckOptions,
  body: (c: CheckContext) => Promise<void>,
  later: { ids: string[]; settled: () => Promise<unknown> },
): Promise<void> {
  const run = await loadRunContext();
  const meta: CheckMeta = {
    id,
    stage: stageName,
    weight: options.weight ?? 1,
    section: options.section,
    transcript: [],
  };
  ctx.task.meta.check = meta;
  const blocked = (blocker: { why: string; kind: 'blocked' | 'not-applicable' }) => {
    Object.assign(meta, { skipReason: blocker.why, skipKind: blocker.kind });
    recordOutcome(id, { state: 'skipped', why: blocker.why, skipKind: blocker.kind });
    ctx.skip(blocker.why);
  };
  const blocker = findBlocker(id, options.needs ?? []);
  if (blocker) return blocked(blocker);
  const walking = walks(run.info.mode);
  const c: CheckContext = {
    ...run,
    walking,
    namespace: walking ? undefined : runLabel(run.info.runId),
    probeName: (what) => runLabel(run.info.runId, what),
    probe: (what) => (walking ? undefined : runLabel(run.info.runId, what)),
    step: async (name, action) => {
      run.host.note(`step: ${name}`);
      try {
        return await action();
      } catch (e) {
        throw new StepError(name, e);
      }
    },
    skip: (reason) => {
      throw new SkipCheck(reason);
    },
  };
  // until the body settles this check counts as failed: one that times out (vitest abandons it)
  // must still block the checks that need it
  recordOutcome(id, { state: 'failed', why: `did not finish within ${options.timeoutMs ?? 120_000} ms` });
  let failure: { error: unknown } | undefined;
  // a check run alongside checks it needs stops as soon as one of them did not pass
  const stop = new AbortController();
  ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
  if (later.ids.length) void later.settled().then(() => findBlocker(id, later.ids) && stop.abort());
  try {
    await run.host.within(meta.transcript, stop.signal, () => declaredAndBody(c, options, body));
  } catch (error) {
    failure = { error };
  }
  if (later.ids.length) {
    // ran alongside checks it needs: judged only if they passed
    await later.settled();
    const late = findBlocker(id, later.ids);
    if (late) return blocked(late);
  }
  if (!failure) return recordOutcome(id, { state: 'passed', why: '' });
  const e = failure.error;
  if (e instanceof SkipCheck) {
    Object.assign(meta, { skipReason: e.reason, skipKind: 'not-applicable' });
    recordOutcome(id, { state: 'skipped', why: e.reason, skipKind: 'not-applicable' });
    ctx.skip(e.reason);
    return;
  }
  Object.assign(meta, bounded(describeError(e)));
  // stopped halfway (its time limit, the run interrupted, a host's deadline): a command cut short
  // reads as a wrong version or a missing file, which says nothing of the host's state
  if (ctx.signal.aborted && meta.kind === 'failure')
    Object.assign(meta, {
      kind: 'error',
      cause: 'the check was stopped before it finished',
      hint: 'the check ran out of time or the run was interrupted; see the transcript for the command cut short',
    });
  // a command killed by its timeout reads as a missing file or a wrong version: a failure that
  // follows one says nothing of the host's state, only that it did not answer in time (a host
  // under load, a slow VM): an error that names the command
  const silent = meta.kind === 'failure' ? meta.transcript.find((t) => t.timedOutAfterMs !== undefined) : undefined;
  if (silent)
    Object.assign(meta, {
      kind: 'error',
      cause: timedOutCause(silent),
      hint:
        'the host did not answer in time (it is slow or loaded, or the command hangs there): ' +
        'run the command on the host to see how long it takes, then check again',
    });
  // containerd went away while the check ran (killed, restarted): not the host's state the
  // lesson speaks of, but a run that could not finish; said as such
  const daemon =
    !WITHOUT_DAEMON.includes(id) && !(e instanceof StepError) && !ctx.signal.aborted
      ? await daemonStoppedAnswering(run)
      : undefined;
  if (daemon === 'slow')
    Object.assign(meta, {
      kind: 'error',
      cause: `\`ctr version\` ${DID_NOT_ANSWER} ${DAEMON_PROBE_MS / 1000} s: containerd or the host is too slow`,
      hint: 'the host did not answer in time (slow or loaded): check again; `ctr version` should answer at once',
    });
  else if (daemon === 'gone')
    Object.assign(meta, {
      kind: 'error',
      cause: `containerd stopped answering on ${run.profile.paths.socket}`,
      hint:
        'containerd went away during the run (killed, crashed or restarted): `systemctl status containerd`, ' +
        '`journalctl -u containerd`; run again once it is back (the next run removes what this one left)',
    });
  const soft = e instanceof CheckFailure ? e.details.dependentsMayRun : undefined;
  recordOutcome(id, { state: 'failed', why: firstLine(meta.cause ?? meta.observed ?? String(e)), soft });
  throw e;
}

function timedOutCause(entry: TranscriptEntry): string {
  return clip(`\`${entry.command}\` ${DID_NOT_ANSWER} ${entry.timedOutAfterMs! / 1000} s`, DETAIL_CHARS.cause);
}

/** A lesson step failed: the check after it could not run (an error, not a failure). */
class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepError';
  }
}

/** The most a failure's parts may hold: a check may quote a host's output (what it printed
 * instead of a version), and a host may print a megabyte on one line. The transcript keeps more. */
const DETAIL_CHARS = { observed: 8_000, expected: 2_000, hint: 2_000, cause: 500 };

function bounded<T extends Partial<Record<keyof typeof DETAIL_CHARS, string>>>(details: T): T {
  const out = { ...details };
  for (const [k, max] of Object.entries(DETAIL_CHARS) as Array<[keyof typeof DETAIL_CHARS, number]>) {
    const v = out[k];
    if (typeof v === 'string') out[k] = clip(v, max);
  }
  return out;
}

/** The four parts of a failure, whatever was thrown. */
function describeError(e: unknown): Pick<CheckMeta, 'kind' | 'expected' | 'observed' | 'hint' | 'cause'> {
  if (e instanceof CheckFailure) return { kind: 'failure', ...e.details };
  if (e instanceof StepError) {
    const inner =
      e.cause instanceof CommandError
        ? observedCommand(e.cause.result)
        : e.cause instanceof Error
          ? e.cause.message
          : String(e.cause);
    return {
      kind: 'error',
      expected: `the lesson step "${e.step}" completes`,
      observed: inner,
      hint: 'the walkthrough could not perform this step; see the transcript for the command that failed',
    };
  }
  if (e instanceof CommandError) {
    return {
      kind: 'error',
      expected: "the check's commands run",
      observed: observedCommand(e.result),
      hint: 'the check could not run; see the transcript',
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    kind: 'error',
    expected: 'the check runs to completion',
    observed: message,
    hint: 'the check could not run; see the transcript',
  };
}

/** Checks that do not talk to containerd (C2 says itself when it does not answer). */
const WITHOUT_DAEMON = ['H1', 'H2', 'H3', 'H4', 'C1', 'C2'];

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

const DAEMON_PROBE_MS = 3_000;

/** Asked after a check failed: does containerd, which answered when C2 ran, still answer? 'slow':
 * not within DAEMON_PROBE_MS (a loaded host reads as a gone daemon otherwise). */
async function daemonStoppedAnswering(run: RunContext): Promise<'gone' | 'slow' | undefined> {
  const socket = run.profile.paths.socket;
  const r = await run.host.run(ctr(run.profile, 'version'), { timeoutMs: DAEMON_PROBE_MS });
  if (r.exitCode === 0) return undefined;
  if (r.timedOut) return 'slow';
  return r.stderr.includes(socket) && GONE.test(r.stderr) ? 'gone' : undefined;
}

/** `blocked by <ID>: <why>` for the first check `id` needs that did not pass, or undefined. A
 * check that did not run at all (left out with --only) blocks nothing; nor does a failure that
 * left what `id` needs intact. */
function findBlocker(id: string, needs: string[]): { why: string; kind: 'blocked' | 'not-applicable' } | undefined {
  for (const need of needs) {
    const o = outcomeOf(need);
    if (!o || o.state === 'passed' || o.soft === true || (Array.isArray(o.soft) && o.soft.includes(id))) continue;
    if (o.state === 'failed') return { why: `blocked by ${need}: ${o.why}`, kind: 'blocked' };
    // name the root cause, not the chain: R6 skipped for C2 makes K4 "blocked by C2: …"
    return { why: o.why, kind: o.skipKind ?? 'blocked' };
  }
  return undefined;
}
