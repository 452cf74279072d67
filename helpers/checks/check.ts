/**
 * `check('ID', …)` declares one catalogue check (its facts are helpers/checks/catalogue.ts's) as
 * a vitest test titled "<ID> <fact>". It skips with `blocked by <ID>: <why>` when a check it
 * needs did not pass (the rules are schedule.ts's), records its own outcome in the run's ledger
 * for the checks that need it, and hands expected/observed/hint and the command transcript to the
 * reporters through the test's meta.
 *
 * Inspecting (verify, grade), every check starts at once and waits only for the checks it needs,
 * whatever their stage (the stages' describe blocks run concurrently, and so do their checks).
 * Walking (lab, walkthrough), they run one by one, in lesson order, since each performs a lesson
 * step that the next builds on.
 */
import { appendFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'vitest';
import type { TranscriptEntry } from '../host/host.ts';
import { CommandError } from '../host/host.ts';
import { DID_NOT_ANSWER, observedCommand } from '../host/transport.ts';
import { type RunContext, currentRunInfo, inThisRun, loadRunContext, walks } from '../run/run.ts';
import { type CatalogueCheck, type CheckId, type Stage, catalogued, isCheckId } from './catalogue.ts';
import { ctr } from '../system/containerd.ts';
import { outcomeOf, recordOutcome } from './ledger.ts';
import {
  type Blocker,
  asksDaemon,
  beforeStart,
  blockedOutcome,
  daemonState,
  onceJudged,
  plan,
  unfinished,
} from './schedule.ts';
import { mark } from '../util/timing.ts';
import { clip, firstLine } from '../host/host-text.ts';
import { runLabel } from '../run/run-label.ts';
import { type CheckDetails, CheckFailure } from './failure.ts';

mark('worker: checks module loaded');

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

/** How a check fails (beside it: what is not the engine's, such as a service probe, can say it). */
export { type CheckDetails, CheckFailure, fail, require } from './failure.ts';

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
 * the state that step leaves; the step's name is the catalogue's. Inspecting, none of it runs: the
 * host is the student's. */
export interface LessonStep {
  /** What must hold before the step: a walk that finds its step done already proves nothing. */
  before?: (c: CheckContext) => Promise<void>;
  /** The step itself, on the walk. Absent: the state the check proves is the one before a later
   * step (R1: no runc yet), which `before` makes sure of. */
  perform?: (c: CheckContext) => Promise<unknown>;
}

/** What only code can say of a check; its facts (section, weight, needs, step name…) are the
 * catalogue's (helpers/checks/catalogue.ts). */
export interface CheckCode {
  /** Walking: the lesson step this check performs first (the catalogue names it). */
  step?: LessonStep;
  /** Inspecting: what this check proves besides its body (the catalogue names it), a fact the walk
   * cannot get wrong (it installed the host itself) but a student's host can. Runs after the body,
   * and fails the check as its own. */
  inspecting?: (c: CheckContext) => Promise<void>;
  /** Why the check cannot apply to this host or source, before any step (a lab without nerdctl). */
  notApplicable?: (c: CheckContext) => string | undefined;
  timeoutMs?: number;
}

type Body = (c: CheckContext) => Promise<void>;

let currentStage = '';
/** Resolves once a check has its outcome in the ledger. */
const settled = new Map<string, Promise<void>>();
/** The checks declared so far (each once). */
const declared = new Set<string>();
let concurrent: boolean | undefined;

/** Whether this run's checks run at once: only when inspecting. (Without a run,
 * `lesson-check verify --list` is only collecting the declarations.) */
function runsConcurrently(): boolean {
  const info = currentRunInfo();
  concurrent ??= info !== undefined && !walks(info.mode);
  return concurrent;
}

/** A stage of the lesson: one suite module, one JUnit testsuite. */
export function stage(name: Stage, body: () => void): void {
  describe(name, { concurrent: runsConcurrently() }, () => {
    currentStage = name;
    body();
  });
}

/** Declares the catalogue's check `id` (its test is titled "<ID> <fact>"), with the code only it
 * has: its body, and its lesson step, inspecting part or reason not to apply. */
export function check(id: CheckId, body: Body): void;
export function check(id: CheckId, code: CheckCode, body: Body): void;
export function check(id: CheckId, codeOrBody: CheckCode | Body, maybeBody?: Body): void {
  const [code, body] = typeof codeOrBody === 'function' ? [{}, codeOrBody] : [codeOrBody, maybeBody!];
  if (!isCheckId(id)) throw new Error(`${String(id)} is not a check of helpers/checks/catalogue.ts`);
  const entry = catalogued(id);
  if (entry.stage !== currentStage)
    throw new Error(`${id} is a check of stage ${entry.stage}, declared in stage ${currentStage}`);
  if (declared.has(id)) throw new Error(`${id} is declared twice`);
  declared.add(id);
  // the catalogue names a check's lesson step and inspecting part; the suite gives their code
  for (const part of ['step', 'inspecting'] as const)
    if (!code[part] !== !entry[part])
      throw new Error(
        entry[part]
          ? `${id}: the catalogue names its ${part} part (${entry[part]}), and the suite gives it no code`
          : `${id}: the suite gives code for a ${part} part that the catalogue does not name`,
      );
  // `lesson-check verify --list` collects the order the suites declare the checks in (a walk's)
  const declarations = process.env.LC_DECLARATIONS;
  if (declarations) appendFileSync(declarations, `${JSON.stringify({ id })}\n`);
  // a check left out by --only never runs: nothing may wait for it
  let settle = () => {};
  if (inThisRun(id)) settled.set(id, new Promise<void>((resolve) => (settle = resolve)));
  const { first, later } = plan(entry, runsConcurrently());
  const awaitChecks = (ids: string[]) => Promise.all(ids.map((n) => settled.get(n) ?? Promise.resolve()));
  test(
    entry.title,
    { timeout: code.timeoutMs ?? 120_000, concurrent: runsConcurrently() },
    async (ctx: TestContext) => {
      // a check abandoned on timeout has its outcome recorded already (below): release its waiters
      ctx.signal.addEventListener('abort', settle, { once: true });
      try {
        await awaitChecks(first);
        mark(`check ${id}: start`);
        const started = performance.now();
        try {
          await runCheck(ctx, entry, code, body, () => awaitChecks(later));
        } finally {
          const meta = ctx.task.meta.check;
          if (meta) meta.durationMs = Math.round(performance.now() - started);
        }
      } finally {
        mark(`check ${id}: end`);
        settle();
      }
    },
  );
}

/** A check as declared: not applicable, or its lesson step (walking), its body, and its
 * inspecting part. */
async function declaredAndBody(c: CheckContext, entry: CatalogueCheck, code: CheckCode, body: Body): Promise<void> {
  const reason = code.notApplicable?.(c);
  if (reason) c.skip(reason);
  const perform = code.step?.perform;
  if (c.walking && code.step) {
    await code.step.before?.(c);
    if (perform) await c.step(entry.step!, () => perform(c));
  }
  await body(c);
  if (!c.walking && code.inspecting) {
    c.host.note(`inspecting also: ${entry.inspecting!}`);
    await code.inspecting(c);
  }
}

async function runCheck(
  ctx: TestContext,
  entry: CatalogueCheck,
  code: CheckCode,
  body: Body,
  laterSettled: () => Promise<unknown>,
): Promise<void> {
  const { id } = entry;
  const run = await loadRunContext();
  const meta: CheckMeta = {
    id,
    stage: entry.stage,
    weight: entry.weight,
    section: entry.section.name,
    transcript: [],
  };
  ctx.task.meta.check = meta;
  const blocked = (blocker: Blocker) => {
    Object.assign(meta, { skipReason: blocker.why, skipKind: blocker.kind });
    recordOutcome(id, blockedOutcome(blocker));
    ctx.skip(blocker.why);
  };
  const concurrently = runsConcurrently();
  const blocker = beforeStart(entry, outcomeOf, concurrently);
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
  recordOutcome(id, unfinished(code.timeoutMs ?? 120_000));
  let failure: { error: unknown } | undefined;
  // a check run alongside checks it needs stops as soon as one of them did not pass
  const stop = new AbortController();
  ctx.signal.addEventListener('abort', () => stop.abort(), { once: true });
  const alongside = plan(entry, concurrently).later.length > 0;
  if (alongside) void laterSettled().then(() => onceJudged(entry, outcomeOf, concurrently) && stop.abort());
  try {
    await run.host.within(meta.transcript, stop.signal, () => declaredAndBody(c, entry, code, body));
  } catch (error) {
    failure = { error };
  }
  if (alongside) {
    // ran alongside checks it needs: judged only if they passed
    await laterSettled();
    const late = onceJudged(entry, outcomeOf, concurrently);
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
  const daemon = asksDaemon(entry, { inStep: e instanceof StepError, stopped: ctx.signal.aborted })
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

const DAEMON_PROBE_MS = 3_000;

/** Asked after a check failed: does containerd, which answered when C2 ran, still answer? 'slow':
 * not within DAEMON_PROBE_MS (a loaded host reads as a gone daemon otherwise). */
async function daemonStoppedAnswering(run: RunContext): Promise<'gone' | 'slow' | undefined> {
  const r = await run.host.run(ctr(run.profile, 'version'), { timeoutMs: DAEMON_PROBE_MS });
  return daemonState(r, run.profile.paths.socket);
}
