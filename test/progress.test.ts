// The set-up progress: silent for a step that ends within 2 s; past that, one line redrawn on a
// terminal, or in a log a line at the start, one every 25 s and one at the end; nested steps show
// the innermost; every step timed for the reports. Timers are faked: no test waits for real.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { during, progressNote, showProgress, takeStepTimings } from '../helpers/util/progress.ts';

/** Resolves after `ms` of faked time. */
function lasting(ms: number): () => Promise<void> {
  return () => new Promise((done) => setTimeout(done, ms));
}

describe('set-up progress', () => {
  let written: string[];
  const sink = (redraw: boolean) => showProgress({ write: (t) => written.push(t), redraw });

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearInterval', 'performance'] });
    written = [];
    takeStepTimings();
  });
  afterEach(() => {
    showProgress(undefined);
    vi.useRealTimers();
  });

  test('a step that ends within 2 s says nothing, and is timed', async () => {
    sink(false);
    const done = during('reading a cache', lasting(1_500));
    await vi.advanceTimersByTimeAsync(1_500);
    await done;
    expect(written).toEqual([]);
    expect(takeStepTimings()).toEqual([{ step: 'reading a cache', ms: 1_500, outcome: 'done' }]);
  });

  test('in a log: a line once it has lasted 2 s, one every 25 s, one at the end', async () => {
    sink(false);
    const done = during('building containerd 2.2.1 (1/5)', lasting(75_000));
    await vi.advanceTimersByTimeAsync(75_000);
    await done;
    expect(written).toEqual([
      'lesson-check: building containerd 2.2.1 (1/5) …\n',
      'lesson-check: building containerd 2.2.1 (1/5): still at it, 27.0 s\n',
      'lesson-check: building containerd 2.2.1 (1/5): still at it, 52.0 s\n',
      'lesson-check: building containerd 2.2.1 (1/5): done in 1 m 15 s\n',
    ]);
  });

  test('on a terminal: one line redrawn every second, then a mark; the innermost step is shown', async () => {
    sink(true);
    const done = during('setting up the lab', async () => {
      await lasting(3_500)();
      await during('building runc 1.4.0 (2/5)', lasting(2_600));
    });
    await vi.advanceTimersByTimeAsync(6_100);
    await done;
    const shown = written.join('').split('\r\x1b[2K').filter(Boolean);
    expect(shown).toEqual([
      '  … setting up the lab 2.0 s',
      '  … setting up the lab 3.0 s',
      // the inner step, for its first 2 s, leaves the outer one on the line
      '  … setting up the lab 4.0 s',
      '  … setting up the lab 5.0 s',
      '  … building runc 1.4.0 (2/5) 2.5 s',
      '  ✓ building runc 1.4.0 (2/5) 2.6 s\n',
      '  … setting up the lab 6.1 s',
      '  ✓ setting up the lab 6.1 s\n',
    ]);
    expect(takeStepTimings().map((t) => t.step)).toEqual(['building runc 1.4.0 (2/5)', 'setting up the lab']);
  });

  test('a failed step says so, and its label and notes are shown as text', async () => {
    sink(false);
    progressNote('first run:\u001b[2J builds once');
    const done = during('downloading \u001b]52;c;ZXZpbA==\u0007', async () => {
      await lasting(2_500)();
      throw new Error('no route');
    });
    const settled = expect(done).rejects.toThrow('no route');
    await vi.advanceTimersByTimeAsync(2_500);
    await settled;
    expect(written.join('')).not.toContain('\u001b');
    expect(written.join('')).not.toContain('\u0007');
    expect(written.at(-1)).toBe('lesson-check: downloading \\x1b]52;c;ZXZpbA==\\x07: failed in 2.5 s\n');
    expect(takeStepTimings()[0]?.outcome).toBe('failed');
  });

  test("a command's whole set-up is shown from its start", async () => {
    sink(false);
    const done = during('setting up the lab', lasting(500), { atOnce: true });
    expect(written).toEqual(['lesson-check: setting up the lab …\n']);
    await vi.advanceTimersByTimeAsync(500);
    await done;
    expect(written.at(-1)).toBe('lesson-check: setting up the lab: done in 0.5 s\n');
  });

  test('silent when no command turned it on', async () => {
    showProgress(undefined);
    const done = during('building podinfo 6.9.2 (5/5)', lasting(40_000));
    await vi.advanceTimersByTimeAsync(40_000);
    await done;
    expect(written).toEqual([]);
  });
});
