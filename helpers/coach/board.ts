/**
 * The coach's view of a host: the lesson as a checklist by section, in lesson order, from one
 * verify's report. "You are here" is the first section not complete, with what the lesson
 * expects next in the grade hints' words (the likely cause, never the command or a file's
 * contents). The lesson's expected failures are milestones, not errors: `ctr run` failing for
 * want of runc, and nerdctl for want of the CNI plugins, are reached while the step that ends
 * them is still to come. A section once complete that is not any more is shown broken.
 */
import { CATALOGUE } from '../checks/catalogue.ts';
import type { CheckResult, CheckState, RunReport } from '../reporters/model.ts';

export type SectionState = 'done' | 'here' | 'todo';

export interface Section {
  name: string;
  state: SectionState;
  /** Complete before, and failing now: a step undone or changed since (a section merely blocked
   * by another's failure is not broken: that failure is the one mistake). */
  broken: boolean;
  /** IDs of its checks, in lesson order. */
  checks: string[];
  /** What is missing: the first check of the section that did not pass, and why in words. */
  next?: { id: string; says: string };
  /** The lesson's expected failure this section shows now, in words. */
  milestone?: string;
}

export interface Board {
  sections: Section[];
  /** Index of the section "you are here"; undefined when the lesson is complete. */
  here: number | undefined;
  /** Each check's state, for the progress log. */
  states: Record<string, CheckState>;
}

/** The lesson's expected failures: `id` passes (the failure is as the lesson shows it) while the
 * check of the step that ends it, `until`, has not passed yet (the catalogue's milestones). */
const MILESTONES = CATALOGUE.flatMap((c) => (c.milestone ? [{ id: c.id, ...c.milestone }] : []));

const complete = (c: CheckResult) => c.state === 'passed' || c.skipKind === 'not-applicable';

/** The board of `report`; `wasDone`: the sections complete at some earlier look (updated). */
export function boardOf(report: RunReport, wasDone: Set<string>): Board {
  const byId = new Map(report.checks.map((c) => [c.id, c]));
  const names = [...new Set(report.checks.map((c) => c.section))];
  const sections: Section[] = names.map((name) => {
    const checks = report.checks.filter((c) => c.section === name);
    const done = checks.every(complete);
    const missing = checks.find((c) => c.state === 'failed' || c.state === 'error') ?? checks.find((c) => !complete(c));
    // shown while the step that ends it is the one the student is at: not once that step broke
    const milestone = MILESTONES.find(
      (m) =>
        checks.some((c) => c.id === m.id && c.state === 'passed') &&
        byId.get(m.until)?.state !== 'passed' &&
        !wasDone.has(byId.get(m.until)?.section ?? ''),
    );
    return {
      name,
      state: done ? 'done' : 'todo',
      broken: !done && wasDone.has(name) && checks.some((c) => c.state === 'failed' || c.state === 'error'),
      checks: checks.map((c) => c.id),
      ...(missing ? { next: { id: missing.id, says: missingWords(missing) } } : {}),
      ...(milestone ? { milestone: milestone.says } : {}),
    };
  });
  const here = sections.findIndex((s) => s.state !== 'done');
  if (here >= 0) sections[here]!.state = 'here';
  for (const s of sections) if (s.state === 'done') wasDone.add(s.name);
  return {
    sections,
    here: here >= 0 ? here : undefined,
    states: Object.fromEntries(report.checks.map((c) => [c.id, c.state])),
  };
}

/** A check that did not pass, in the grade hints' words: its cause, or what blocks it. */
function missingWords(c: CheckResult): string {
  if (c.state === 'skipped') return c.skipReason ?? 'waits for an earlier step';
  return c.cause ?? (c.state === 'error' ? 'the check could not run' : 'the state differs from the lesson');
}

/** The checks whose state changed from `before` to `after` (all of them at the first look). */
export function stateChanges(
  before: Board | undefined,
  after: Board,
): Array<{ id: string; from: CheckState | null; to: CheckState }> {
  return Object.entries(after.states)
    .filter(([id, to]) => before?.states[id] !== to)
    .map(([id, to]) => ({ id, from: before?.states[id] ?? null, to }));
}
