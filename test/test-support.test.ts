// The tests' own support: a wait fails saying what it awaited, against what limit, and what it last
// saw; a test's needs skip it with the reason by hand, and fail it under CI=true when the set-up
// should have provided them.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { eventually } from './support/eventually.ts';
import type { Need } from './support/requirements.ts';

describe('eventually', () => {
  test('returns the first value that is not undefined, null or false', async () => {
    let n = 0;
    expect(await eventually('the third look', () => (++n >= 3 ? `look ${n}` : false), 2_000, { intervalMs: 1 })).toBe(
      'look 3',
    );
  });

  test('past its limit it names what it awaited, the limit and the last observation', async () => {
    let n = 0;
    await expect(
      eventually('the board printing done', () => false, 50, { intervalMs: 5, observe: () => `output ${++n}` }),
    ).rejects.toThrow(
      /^the board printing done: not seen after \d+ ms \(limit 50 ms, \d+ attempts\); last observed: \noutput 1$/,
    );
  });

  test("without an observer, the probe's last error is the last observation", async () => {
    await expect(
      eventually(
        'sshd listening',
        () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:2222');
        },
        20,
        { intervalMs: 5 },
      ),
    ).rejects.toThrow(/^sshd listening: not seen after .*; last observed: connect ECONNREFUSED 127\.0\.0\.1:2222$/);
  });

  test('a hopeless wait fails at once, saying why', async () => {
    const started = Date.now();
    await expect(
      eventually('QEMU running', () => false, 60_000, { hopeless: () => 'machine --vm exited 2' }),
    ).rejects.toThrow(
      /^QEMU running: not seen after \d+ ms \(limit 60000 ms, 1 attempts\), and machine --vm exited 2;/,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('needs', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  /** requirements.ts as loaded with this environment (it reads CI and LC_TEST_TIER once). */
  async function load(env: Record<string, string>) {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.resetModules();
    return import('./support/requirements.ts');
  }
  const absentTool: Need = {
    name: 'systemd-nspawn',
    missing: () => 'not on PATH',
    from: "Debian's systemd-container, which scripts/install-deps.sh test installs",
    ci: "the tests' set-up installs it",
    heavy: true,
  };
  const present: Need = { name: 'ansible-inventory', missing: () => undefined };

  test('all met: nothing to say', async () => {
    const { needs } = await load({ CI: '', LC_TEST_TIER: '' });
    expect(needs(present)).toMatchObject({ unmet: undefined, ciFailure: undefined });
  });

  test('by hand, a missing tool skips, saying which, why and where it comes from', async () => {
    const { needs } = await load({ CI: '', LC_TEST_TIER: '' });
    expect(needs(present, absentTool)).toMatchObject({
      unmet:
        "needs systemd-nspawn: not on PATH (Debian's systemd-container, which scripts/install-deps.sh test installs)",
      ciFailure: undefined,
    });
  });

  test('under CI=true, a missing tool of the set-up fails, naming it', async () => {
    const { needs } = await load({ CI: 'true', LC_TEST_TIER: '' });
    expect(needs(absentTool).ciFailure).toBe(
      "systemd-nspawn is missing under CI=true (not on PATH): the tests' set-up installs it. " +
        'A CI run must not pass by skipping what needs it.',
    );
    // a fact of the host the set-up does not provide only skips, in CI too
    expect(needs({ name: 'an init that is not systemd', missing: () => 'systemd is' }).ciFailure).toBeUndefined();
  });

  test('the unit tier skips what is heavy, in CI too, and says it is the tier', async () => {
    const { needs } = await load({ CI: 'true', LC_TEST_TIER: 'unit' });
    expect(needs(absentTool)).toMatchObject({
      unmet: 'npm run test:unit runs nothing that needs systemd-nspawn',
      ciFailure: undefined,
    });
    expect(needs(present).unmet).toBeUndefined();
  });
});
