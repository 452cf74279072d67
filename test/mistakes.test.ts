// The catalogue of single mistakes (test/mistakes.ts) on a kept sandbox lab, as root: each one
// made, graded, and put right; the grade fails exactly the entry's checks, each with a cause that
// names that mistake, blocks exactly the checks the entry says, and charges no more than those.
// The entries that need systemd run on a machine (test/machine.test.ts).
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { nerdctl } from '../helpers/system/containerd.ts';
import { Host } from '../helpers/host/host.ts';
import { fetchAptArtifacts } from '../helpers/sources/apt-source.ts';
import { Lab } from '../helpers/lab/lab.ts';
import { loadProfile } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { lessonCheck } from './support/cli.ts';
import { keepLab, removeLab } from './support/labs.ts';
import { failing } from './support/reports.ts';
import { LAB_MISTAKES, type LabHands, expectTheMistakeAlone } from './mistakes.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

needs(AS_ROOT).describe('one mistake, one failure: the catalogue on a kept lab', { timeout: 120_000 }, () => {
  let profileFile: string;
  let hands: LabHands;

  beforeAll(async () => {
    profileFile = await keepLab();
    const profile = loadProfile(profileFile);
    const host = new Host(new LocalTransport());
    hands = {
      at: (path) => join(profile.prefix, path),
      profile,
      lab: Lab.open(join(profile.prefix, 'lab/lab.json'), host, profile),
      student: (...args) => {
        const [file, ...rest] = nerdctl(profile, {}, ...args);
        return execa(file!, rest);
      },
      debian: await fetchAptArtifacts(host),
    };
  }, 300_000);
  afterAll(async () => {
    if (hands) await removeLab(hands.profile.prefix);
  });

  test('at least 30 mistakes, each named once', () => {
    expect(LAB_MISTAKES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(LAB_MISTAKES.map((m) => m.mistake)).size).toBe(LAB_MISTAKES.length);
  });

  for (const m of LAB_MISTAKES) {
    test(m.mistake, async () => {
      const undo = await m.make(hands);
      let run;
      try {
        run = await lessonCheck(['grade', '--profile', profileFile]);
      } finally {
        await undo();
      }
      expect(run.exitCode, run.output).toBe(Object.keys(m.fails).length ? 1 : 0);
      expectTheMistakeAlone(run.report, m, run.output);
      // and put right, the lab passes again: the next entry starts from a finished lab
      const after = await lessonCheck(['verify', '--profile', profileFile, '--quiet']);
      expect(failing(after.report), after.output).toEqual([]);
    });
  }
});
