/** The shape every report is written from. Reporters know neither hosts nor vitest: only this. */
import type { TranscriptEntry } from '../host/host.ts';

export type CheckState = 'passed' | 'failed' | 'error' | 'skipped';

export interface CheckResult {
  id: string;
  title: string;
  stage: string;
  state: CheckState;
  durationMs: number;
  expected?: string;
  observed?: string;
  hint?: string;
  /** For graders: the likely cause, without the fix. */
  cause?: string;
  /** The lesson section a failure sends the reader back to. */
  section: string;
  weight: number;
  skipReason?: string;
  skipKind?: 'blocked' | 'not-applicable';
  transcript: TranscriptEntry[];
}

export interface RunReport {
  runId: string;
  host: string;
  profile: string;
  mode: string;
  source: string;
  versions: Record<string, string>;
  standInImages: boolean;
  notes: string[];
  /** For a class: which inventory, and which reader read it (ansible-inventory or the built-in one). */
  inventory?: string;
  /** Reached over ssh without its host key checked (the grader's config or inventory said so):
   * why, from `ssh -G`. Whoever answered at the address was graded. */
  hostKeyUnchecked?: string;
  startedAt: string;
  durationMs: number;
  checks: CheckResult[];
  /** Set by `grade`. */
  grade?: Grade;
  /** What setting up took (the lab, the machine): built or from the cache, and each long step. */
  setup?: SetupTimings;
}

/** One set-up step that took a while: building a release, a download, debootstrap. */
export interface StepTiming {
  step: string;
  ms: number;
  outcome: 'done' | 'failed';
}

export interface SetupTimings {
  ms: number;
  /** Every release and image came from the cache: nothing was built or downloaded. */
  fromCache: boolean;
  steps: StepTiming[];
}

export interface Grade {
  score: number;
  maxScore: number;
  percent: number;
}

/** Points for passed checks over points for every check that applies (not-applicable ones do not count). */
export function gradeOf(checks: CheckResult[]): Grade {
  const counted = checks.filter((c) => c.skipKind !== 'not-applicable');
  const maxScore = counted.reduce((s, c) => s + c.weight, 0);
  const score = counted.filter((c) => c.state === 'passed').reduce((s, c) => s + c.weight, 0);
  return { score, maxScore, percent: maxScore ? Math.round((score / maxScore) * 1000) / 10 : 100 };
}

/** The grader's hint: the lesson section to revisit and the likely cause, never the fix. */
export function gradeHint(c: CheckResult): string | undefined {
  if (c.state === 'passed' || c.skipKind === 'not-applicable') return undefined;
  if (c.state === 'skipped') return `depends on an earlier step (${c.skipReason ?? 'blocked'})`;
  const cause = c.cause ?? (c.state === 'error' ? 'the check could not run' : 'the state differs from the lesson');
  return `revisit "${c.section}": ${cause}`;
}

export function countStates(checks: CheckResult[]): Record<CheckState, number> {
  const counts: Record<CheckState, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const c of checks) counts[c.state]++;
  return counts;
}

/** A catalogue check that has no result of its own (its host unreachable, its suite never
 * loaded): an error that says why. */
export function unrunCheck(
  { id, stage }: { id: string; stage: string },
  why: Required<Pick<CheckResult, 'expected' | 'observed' | 'hint'>> & Pick<CheckResult, 'cause'>,
): CheckResult {
  return { id, title: id, stage, section: stage, weight: 1, state: 'error', durationMs: 0, ...why, transcript: [] };
}

/** A check that counts against the host: failed (the host is wrong) or error (it could not run). */
function isFailing(c: CheckResult): boolean {
  return c.state === 'failed' || c.state === 'error';
}

/** The failing checks, in catalogue order. */
export function failures(checks: CheckResult[]): CheckResult[] {
  return checks.filter(isFailing);
}

/** The checks grouped by stage, stages in the order they ran. */
export function byStage(checks: CheckResult[]): Array<{ stage: string; checks: CheckResult[]; durationMs: number }> {
  const stages = new Map<string, CheckResult[]>();
  for (const c of checks) stages.set(c.stage, [...(stages.get(c.stage) ?? []), c]);
  return [...stages].map(([stage, inStage]) => ({
    stage,
    checks: inStage,
    durationMs: inStage.reduce((s, c) => s + c.durationMs, 0),
  }));
}

/** A duration as people read it: "4.2 s", "1 m 12 s". */
export function elapsedText(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
}

/** A grade's rows: every check with its state, weight and the grader's hint (grade.json, the console). */
export function gradeRows(report: RunReport): Array<{ id: string; state: CheckState; weight: number; hint: string }> {
  return report.checks.map((c) => ({ id: c.id, state: c.state, weight: c.weight, hint: gradeHint(c) ?? '' }));
}

/** The exit status the checks give: 1 when any failed or could not run, else 0. */
export function exitCodeOf(reports: RunReport[]): 0 | 1 {
  return reports.some((r) => r.checks.some(isFailing)) ? 1 : 0;
}
