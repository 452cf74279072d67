// The lab end to end, as root: the lesson walked against real containerd, runc and CNI plugins,
// the JUnit it writes, what it leaves behind (nothing), and that its checks can fail: each
// deliberate mistake fails exactly the checks that guard it.
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE } from '../helpers/catalogue.ts';
import { countStates } from '../helpers/reporters/model.ts';
import { type LabRun, type Traces, junitCases, labTraces, overlappingChecks, runLab } from './lab-helpers.ts';

const NERDCTL_CHECKS = ['N1', 'N2', 'N3', 'K2', 'K3'];
const asRoot = process.getuid?.() === 0;

function states(run: LabRun): Record<string, string> {
  return Object.fromEntries((run.report?.checks ?? []).map((c) => [c.id, c.state]));
}

describe.runIf(asRoot)('npm run lab', { timeout: 300_000 }, () => {
  let before: Traces;
  let first: LabRun;

  let timings: string;

  beforeAll(async () => {
    before = await labTraces();
    timings = join(mkdtempSync(join(tmpdir(), 'lc-timings-')), 'timings.txt');
    first = await runLab([], undefined, { LC_TIMINGS: timings });
  }, 600_000);

  test('exits 0 with every check passed except the nerdctl ones, skipped for want of nerdctl', () => {
    expect(first.exitCode, first.output).toBe(0);
    const expected = Object.fromEntries(CATALOGUE.map(({ id }) => [id, NERDCTL_CHECKS.includes(id) ? 'skipped' : 'passed']));
    expect(states(first)).toEqual(expected);
  });

  test('its JUnit has a testcase for each of the 20 IDs, no failures, and skip reasons naming nerdctl', () => {
    const cases = junitCases(first.junit!);
    expect(cases.size).toBe(20);
    for (const { id } of CATALOGUE) {
      const name = [...cases.keys()].find((n) => n.startsWith(`${id} `));
      expect(name, `a testcase titled "${id} …"`).toBeDefined();
      const tc = cases.get(name!)!;
      expect(tc.failure).toBeUndefined();
      expect(tc.error).toBeUndefined();
      if (NERDCTL_CHECKS.includes(id)) expect(tc.skipped).toMatch(/nerdctl/);
      else expect(tc.skipped).toBeUndefined();
    }
  });

  test('walking, the checks run one at a time, in lesson order: each performs a step', () => {
    expect(overlappingChecks(timings, CATALOGUE.map((c) => c.id))).toEqual([]);
    const started = [...readFileSync(timings, 'utf8').matchAll(/^\d+ \d+ check (\w+): start$/gm)].map((m) => m[1]);
    expect(started).toEqual(['H1', 'H2', 'H3', 'H4', 'C1', 'C2', 'C3', 'R1', 'R2', 'R3', 'R5', 'R4', 'R6', 'N1', 'N2', 'N3', 'K1', 'K2', 'K3', 'K4']);
  });

  test('R1 was observed for real: its transcript holds the missing-runc error', () => {
    const r1 = first.report!.checks.find((c) => c.id === 'R1')!;
    expect(r1.transcript.some((e) => e.stderr.includes('exec: "runc": executable file not found in $PATH'))).toBe(true);
    const cases = junitCases(first.junit!);
    const r1Case = [...cases].find(([n]) => n.startsWith('R1 '))![1];
    expect(r1Case['system-out']).toContain('exec: "runc": executable file not found in $PATH');
  });

  test('the reports folder holds JUnit, Markdown, JSON and HTML, and their counts agree', () => {
    const n = countStates(first.report!.checks);
    expect(n).toEqual({ passed: 15, failed: 0, error: 0, skipped: 5 });
    const junit = first.junit!;
    expect(junit).toMatch(new RegExp(`<testsuites [^>]*tests="20" failures="${n.failed}" errors="${n.error}"`));
    expect(junit.match(/<skipped>/g)).toHaveLength(n.skipped);
    const md = readFileSync(join(first.reportsDir, 'summary.md'), 'utf8');
    expect(md).toContain(`## lesson-check: ${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`);
    const html = readFileSync(join(first.reportsDir, 'report.html'), 'utf8');
    for (const state of ['passed', 'failed', 'error', 'skipped'] as const) expect(html.match(new RegExp(`data-state="${state}"`, 'g')) ?? []).toHaveLength(n[state]);
  });

  test('the console shows no colour codes when piped or with NO_COLOR', () => {
    expect(first.output).not.toMatch(/\u001b\[/);
    expect(first.output).toMatch(/^ {2}✓ R6 /m);
  });

  test('the reports say stand-in images and the apt source were used', () => {
    expect(first.report).toMatchObject({ mode: 'lab', source: 'apt', standInImages: true });
    expect(first.junit).toContain('name="stand-in images" value="true"');
  });

  test('leaves no process, mount, netns, link, lab prefix or /run/containerd behind', async () => {
    expect(await labTraces()).toEqual(before);
  });

  test('a second run right after the first reuses the cache and passes too', async () => {
    const second = await runLab([]);
    expect(second.exitCode, second.output).toBe(0);
    expect(second.output).toContain('cache reused');
    expect(await labTraces()).toEqual(before);
  });

  test('two labs at once do not collide (prefix, ports, runc state, cgroups, bridges, subnets)', async () => {
    const [a, b] = await Promise.all([runLab([]), runLab([])]);
    expect(a.exitCode, a.output).toBe(0);
    expect(b.exitCode, b.output).toBe(0);
    expect(await labTraces()).toEqual(before);
  });

  test('Ctrl-C in the middle of the walk still tears everything down', async () => {
    let watching = false;
    let interruptedInK4 = false;
    const run = await runLab([], (output, pid) => {
      const id = /lab ([0-9a-f]{6}) at/.exec(output)?.[1];
      if (!id || watching) return;
      watching = true;
      // interrupt once the bridge probe has wired its network namespace: the most state there is
      const watch = setInterval(async () => {
        const ns = await execa('ip', ['netns', 'list'], { reject: false });
        if (!interruptedInK4 && ns.stdout.includes(`lc-${id}-k4`)) {
          interruptedInK4 = true;
          clearInterval(watch);
          process.kill(-pid, 'SIGINT');
        }
      }, 10);
      setTimeout(() => clearInterval(watch), 60_000);
    });
    expect(interruptedInK4, run.output).toBe(true);
    expect(run.output).toContain('SIGINT received');
    expect(run.output).toMatch(/torn down .* prefix removed/);
    expect(run.exitCode === 130 || run.signal === 'SIGINT', `exit ${run.exitCode}, signal ${run.signal}`).toBe(true);
    expect(await labTraces()).toEqual(before);
  });

  test('a config without SystemdCgroup fails R3 and R4, and only those', async () => {
    const run = await runLab(['--fault', 'config-without-systemd-cgroup']);
    expect(run.exitCode).toBe(1);
    const failed = run.report!.checks.filter((c) => c.state === 'failed' || c.state === 'error');
    expect(failed.map((c) => c.id)).toEqual(['R3', 'R4']);
    for (const c of failed) expect(c).toMatchObject({ expected: expect.stringContaining('SystemdCgroup'), observed: expect.stringMatching(/SystemdCgroup = /), hint: expect.any(String) });
    expect(failed[0]!.observed).toContain('(absent)');
  });

  test('a runc that is not executable fails R2 and R6, and K4 is blocked, not failed', async () => {
    const run = await runLab(['--fault', 'runc-not-executable']);
    expect(run.exitCode).toBe(1);
    const failed = run.report!.checks.filter((c) => c.state === 'failed' || c.state === 'error');
    expect(failed.map((c) => c.id)).toEqual(['R2', 'R6']);
    expect(failed[0]).toMatchObject({ expected: expect.stringContaining('mode 0755'), observed: 'mode 0644', hint: expect.stringContaining('install -m 755') });
    expect(failed[1]!.observed).toContain('exit 1');
    expect(failed[1]!.hint).toBeTruthy();
    expect(run.report!.checks.find((c) => c.id === 'K4')).toMatchObject({ state: 'skipped', skipReason: expect.stringMatching(/^blocked by R6: /) });
  });
});
