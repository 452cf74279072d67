// The scheduler's rules (helpers/checks/schedule.ts), as docs/GRADING.md and docs/CHECKS.md state
// them: a check whose need did not pass is skipped as "blocked by" it, earns nothing and is
// charged to that mistake; a failure that leaves what later checks need intact blocks none of
// them (or only those it names); the root cause is named, not the chain; a check left out of the
// run blocks nothing; one that never finished blocks as a failure; inspecting, a check judged
// after a need runs alongside it and is blocked by it all the same; containerd is asked after a
// failure only by the checks that talk to it. Pure functions on the real catalogue: no root, no lab.
import { describe, expect, test } from 'vitest';
import { CATALOGUE, type CheckId, catalogued } from '../helpers/checks/catalogue.ts';
import type { Outcome } from '../helpers/checks/ledger.ts';
import {
  type OwnResult,
  asksDaemon,
  beforeStart,
  blockerOf,
  daemonState,
  onceJudged,
  plan,
  resolve,
  unfinished,
} from '../helpers/checks/schedule.ts';
import { type CheckResult, gradeOf } from '../helpers/reporters/model.ts';
import { MISTAKES } from './mistakes.ts';

const MODES = [
  { name: 'inspecting', concurrent: true },
  { name: 'walking', concurrent: false },
] as const;

/** A run where every check passes but those given. */
function run(own: Partial<Record<CheckId, OwnResult>>, concurrent: boolean, only?: CheckId[]) {
  return resolve(
    CATALOGUE,
    (id) => (only && !only.includes(id as CheckId) ? undefined : (own[id as CheckId] ?? { state: 'passed' })),
    concurrent,
  );
}

const failed = (why: string, soft?: boolean | string[]): OwnResult => ({ state: 'failed', why, soft });
const skippedIds = (outcomes: Map<string, Outcome>) =>
  [...outcomes].filter(([, o]) => o.state === 'skipped').map(([id]) => id);

/** The grade of a run's outcomes, with the catalogue's weights. */
function grade(outcomes: Map<string, Outcome>) {
  const checks = [...outcomes].map(([id, o]) => ({
    ...catalogued(id as CheckId),
    section: catalogued(id as CheckId).section.name,
    state: o.state,
    ...(o.skipKind ? { skipKind: o.skipKind } : {}),
  })) as unknown as CheckResult[];
  return gradeOf(checks);
}

/** The checks that need `id` directly. */
const dependents = (id: string) =>
  CATALOGUE.filter((c) => (c.needs as readonly string[]).includes(id)).map((c) => c.id);

describe.each(MODES)('the scheduler, $name', ({ concurrent }) => {
  test('a check whose need failed is skipped as "blocked by" it, with its cause', () => {
    const outcomes = run({ R2: failed('runc is not installed') }, concurrent);
    expect(outcomes.get('R6')).toEqual({
      state: 'skipped',
      why: 'blocked by R2: runc is not installed',
      skipKind: 'blocked',
    });
    expect(outcomes.get('R2')).toMatchObject({ state: 'failed' });
  });

  test('the root cause is named, not the chain: K4 is blocked by C2, through R6', () => {
    const outcomes = run({ C2: failed('containerd does not answer') }, concurrent);
    for (const id of ['C3', 'R1', 'R6', 'N2', 'K4'])
      expect(outcomes.get(id)?.why, id).toBe('blocked by C2: containerd does not answer');
  });

  test('of several needs that did not pass, the first declared is named', () => {
    // K2 needs N1, K1, C2, R6 in that order
    const outcomes = run({ K1: failed('CNI plugins are missing'), N1: failed('nerdctl is not installed') }, concurrent);
    expect(outcomes.get('K2')?.why).toBe('blocked by N1: nerdctl is not installed');
  });

  test('with runc removed, every check that needs it is blocked, and costs its points (GRADING.md)', () => {
    const outcomes = run({ R2: failed('runc is not installed') }, concurrent);
    expect(skippedIds(outcomes).sort()).toEqual(['K2', 'K3', 'K4', 'N2', 'N3', 'R6']);
    // a blocked check earns nothing and stays in the total: 25 points, 2 for R2 and 9 blocked
    expect(grade(outcomes)).toMatchObject({ score: 14, maxScore: 25 });
  });

  test('a failure that leaves what later checks need intact blocks none of them', () => {
    const outcomes = run({ C1: failed('containerd 2.1.4 instead of the pinned release', true) }, concurrent);
    expect(skippedIds(outcomes)).toEqual([]);
    expect(grade(outcomes)).toMatchObject({ score: 23, maxScore: 25 });
  });

  test('a failure that names the checks that may still run blocks only the others', () => {
    const outcomes = run({ R3: failed('SystemdCgroup is a string, not a boolean', ['R5']) }, concurrent);
    expect(outcomes.get('R5')).toEqual({ state: 'passed', why: '' });
    expect(outcomes.get('R4')?.why).toBe('blocked by R3: SystemdCgroup is a string, not a boolean');
  });

  test('a check that does not apply passes its reason on, and leaves the grade (not applicable)', () => {
    const why = 'this lab has no nerdctl (apt source)';
    const outcomes = run({ N1: { state: 'skipped', why, skipKind: 'not-applicable' } }, concurrent);
    for (const id of ['N2', 'N3', 'K2', 'K3'])
      expect(outcomes.get(id), id).toEqual({ state: 'skipped', why, skipKind: 'not-applicable' });
    // the bridge check without nerdctl still runs
    expect(outcomes.get('K1')?.state).toBe('passed');
    expect(outcomes.get('K4')?.state).toBe('passed');
    expect(grade(outcomes)).toMatchObject({ score: 25 - 8, maxScore: 25 - 8, percent: 100 });
  });

  test('a need left out of the run (--only) blocks nothing', () => {
    const outcomes = run({}, concurrent, ['R6']);
    expect([...outcomes.keys()]).toEqual(['R6']);
    expect(outcomes.get('R6')?.state).toBe('passed');
  });

  test('a check that never finished blocks the checks that need it', () => {
    const outcomes = new Map<string, Outcome>([['R6', unfinished(120_000)]]);
    expect(beforeStart(catalogued('N3'), (id) => outcomes.get(id), concurrent)).toEqual({
      why: 'blocked by R6: did not finish within 120000 ms',
      kind: 'blocked',
    });
  });

  test('a check whose needs passed runs', () => {
    const outcomes = run({}, concurrent);
    expect([...outcomes.values()].every((o) => o.state === 'passed')).toBe(true);
    expect(grade(outcomes)).toMatchObject({ score: 25, maxScore: 25 });
  });

  test('a check judged after a need that failed is blocked by it, whatever its own body found', () => {
    for (const own of [{ state: 'passed' }, failed('no answer')] as OwnResult[]) {
      const outcomes = run({ R6: failed('ctr run fails'), K4: own }, concurrent);
      expect(outcomes.get('K4')?.why).toBe('blocked by R6: ctr run fails');
    }
  });

  test("every mistake of test/mistakes.ts blocks exactly the checks docs/GRADING.md says, at the page's cost", () => {
    const total = CATALOGUE.reduce((s, c) => s + c.weight, 0);
    for (const m of MISTAKES) {
      const [failing, ...more] = Object.keys(m.fails) as CheckId[];
      if (!failing) continue;
      expect(more, m.mistake).toEqual([]);
      // the failure's dependentsMayRun: the direct dependents that the page does not list as blocked
      const mayRun = dependents(failing).filter((id) => !(m.blocks ?? []).includes(id));
      const soft = mayRun.length === dependents(failing).length ? true : mayRun.length ? mayRun : undefined;
      const outcomes = run({ [failing]: failed('the mistake', soft) }, concurrent);
      expect(skippedIds(outcomes).sort(), m.mistake).toEqual([...(m.blocks ?? [])].sort());
      const cost = [failing, ...(m.blocks ?? [])].reduce((s, id) => s + catalogued(id as CheckId).weight, 0);
      expect(grade(outcomes).score, m.mistake).toBe(total - cost);
    }
  });
});

describe('judged after: inspecting, a check runs alongside some of its needs', () => {
  test('inspecting, it waits first only for the needs it is not judged after', () => {
    expect(plan(catalogued('K4'), true)).toEqual({ first: ['C2', 'K1'], later: ['R6'] });
    expect(plan(catalogued('C1'), true)).toEqual({ first: [], later: ['H1'] });
    expect(plan(catalogued('R6'), true)).toEqual({ first: ['C3', 'R2'], later: [] });
  });

  test('walking, every need comes first', () => {
    for (const c of CATALOGUE) expect(plan(c, false), c.id).toEqual({ first: [...c.needs], later: [] });
  });

  test('inspecting, a failed need it is judged after lets it start, then blocks it once judged', () => {
    const outcomes = (id: string) => (id === 'R6' ? { state: 'failed' as const, why: 'ctr run fails' } : undefined);
    expect(beforeStart(catalogued('K4'), outcomes, true)).toBeUndefined();
    expect(onceJudged(catalogued('K4'), outcomes, true)).toEqual({
      why: 'blocked by R6: ctr run fails',
      kind: 'blocked',
    });
    // walking, it does not start at all
    expect(beforeStart(catalogued('K4'), outcomes, false)).toEqual({
      why: 'blocked by R6: ctr run fails',
      kind: 'blocked',
    });
    expect(onceJudged(catalogued('K4'), outcomes, false)).toBeUndefined();
  });

  test('a failed need it is not judged after keeps it from starting, in both modes', () => {
    const outcomes = (id: string) =>
      id === 'K1' ? { state: 'failed' as const, why: 'CNI plugins are missing' } : undefined;
    for (const concurrent of [true, false])
      expect(beforeStart(catalogued('K4'), outcomes, concurrent)?.why).toBe('blocked by K1: CNI plugins are missing');
  });

  test('the catalogue judges a check only after checks it needs', () => {
    for (const c of CATALOGUE) for (const later of c.judgedAfter) expect(c.needs, c.id).toContain(later);
  });
});

describe('blockerOf', () => {
  test('a need still unknown, passed, or soft for this check does not block', () => {
    const outcomes: Record<string, Outcome> = {
      A: { state: 'passed', why: '' },
      B: { state: 'failed', why: 'b', soft: true },
      C: { state: 'failed', why: 'c', soft: ['X'] },
    };
    expect(blockerOf('X', ['A', 'B', 'C', 'D'], (id) => outcomes[id])).toBeUndefined();
    expect(blockerOf('Y', ['A', 'B', 'C'], (id) => outcomes[id])).toEqual({ why: 'blocked by C: c', kind: 'blocked' });
  });

  test('a need skipped as blocked passes its reason and kind on', () => {
    const outcome: Outcome = { state: 'skipped', why: 'blocked by C2: gone', skipKind: 'blocked' };
    expect(blockerOf('K4', ['R6'], () => outcome)).toEqual({ why: 'blocked by C2: gone', kind: 'blocked' });
  });
});

describe('the vanished daemon', () => {
  test('only the checks that talk to containerd ask, after C2: not the host checks, C1 or C2', () => {
    const asking = CATALOGUE.filter((c) => asksDaemon(c, { inStep: false, stopped: false })).map((c) => c.id);
    expect(asking).toEqual(
      CATALOGUE.map((c) => c.id).filter((id) => !['H1', 'H2', 'H3', 'H4', 'C1', 'C2'].includes(id)),
    );
  });

  test('a failed lesson step, or a check stopped halfway, does not ask', () => {
    const r6 = catalogued('R6');
    expect(asksDaemon(r6, { inStep: true, stopped: false })).toBe(false);
    expect(asksDaemon(r6, { inStep: false, stopped: true })).toBe(false);
    expect(asksDaemon(r6, { inStep: false, stopped: false })).toBe(true);
  });

  const socket = '/run/containerd/containerd.sock';
  test('containerd is gone when ctr cannot reach its socket', () => {
    for (const words of ['connection refused', 'no such file or directory', 'transport is closing'])
      expect(daemonState({ exitCode: 1, stderr: `ctr: dial unix ${socket}: ${words}` }, socket), words).toBe('gone');
  });

  test('slow when ctr version does not answer in time; otherwise not gone', () => {
    expect(daemonState({ exitCode: null, timedOut: true, stderr: '' }, socket)).toBe('slow');
    expect(daemonState({ exitCode: 0, stderr: '' }, socket)).toBeUndefined();
    // another socket, or another error: the failure stands as the check's own
    expect(daemonState({ exitCode: 1, stderr: 'dial unix /other.sock: connection refused' }, socket)).toBeUndefined();
    expect(daemonState({ exitCode: 1, stderr: `${socket}: permission denied` }, socket)).toBeUndefined();
  });
});
