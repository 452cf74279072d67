// The lab end to end, as root: the lesson walked against real containerd, runc, nerdctl and CNI
// plugins at the lesson's own versions (the default source here: go), the JUnit it writes, what
// it leaves behind (nothing), and that its checks can fail: each deliberate mistake fails exactly
// the checks that guard it. The apt source, without nerdctl, skips the nerdctl checks, saying so.
import { execa } from 'execa';
import { beforeAll, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { LESSON_VERSIONS, loadProfile } from '../helpers/profile.ts';
import { PODINFO } from '../helpers/sources/go-source.ts';
import { countStates } from '../helpers/reporters/model.ts';
import { LABS_ROOT } from '../helpers/lab/lab-state.ts';
import { type LabRun, runLab } from './support/cli.ts';
import { keepLab } from './support/labs.ts';
import { junitCases } from './support/reports.ts';
import { overlappingChecks } from './support/timings.ts';
import { type Traces, labTraces } from './support/traces.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

const NERDCTL_CHECKS = ['N1', 'N2', 'N3', 'K2', 'K3'];
const FORWARD = '/proc/sys/net/ipv4/ip_forward';

function states(run: LabRun): Record<string, string> {
  return Object.fromEntries((run.report?.checks ?? []).map((c) => [c.id, c.state]));
}

needs(AS_ROOT).describe('npm run lab', { timeout: 300_000 }, () => {
  let before: Traces;
  let first: LabRun;

  let timings: string;

  beforeAll(async () => {
    before = await labTraces();
    timings = join(mkdtempSync(join(tmpdir(), 'lc-timings-')), 'timings.txt');
    first = await runLab([], undefined, { LC_TIMINGS: timings });
  }, 600_000);

  test("exits 0 with all 20 checks passed, none skipped, at the lesson's own versions", () => {
    expect(first.exitCode, first.output).toBe(0);
    expect(states(first)).toEqual(Object.fromEntries(CATALOGUE.map(({ id }) => [id, 'passed'])));
    expect(first.report!.versions).toEqual({
      containerd: LESSON_VERSIONS.containerd,
      runc: LESSON_VERSIONS.runc,
      nerdctl: LESSON_VERSIONS.nerdctl,
      cniPlugins: LESSON_VERSIONS.cniPlugins,
      podinfo: PODINFO.release,
    });
  });

  test('its console is the check list and the summary, and results.json says what set-up took', () => {
    const lines = first.output.split('\n').filter((l) => l.trim() !== '');
    // lesson-check's own lines only: no apt, debconf, npm or containerd chatter
    const ours = /^(lesson-check: |\d\d \w+$| {2}\S [A-Z]\d+ | (stage|\d\d \w+) {2,}|\d+ passed, |reports: )/;
    expect(lines.filter((l) => !ours.test(l))).toEqual([]);
    expect(first.output).not.toMatch(/debconf|apt-get|npm warn|DEPRECATION/);
    expect(first.report!.setup).toMatchObject({
      ms: expect.any(Number) as unknown,
      fromCache: expect.any(Boolean) as unknown,
    });
    expect(first.report!.setup!.steps.map((s) => s.step)).toContain('setting up the lab');
  });

  test('its JUnit has a testcase for each of the 20 IDs, no failures, no skips', () => {
    const cases = junitCases(first.junit!);
    expect(cases.size).toBe(20);
    for (const { id } of CATALOGUE) {
      const name = [...cases.keys()].find((n) => n.startsWith(`${id} `));
      expect(name, `a testcase titled "${id} …"`).toBeDefined();
      const tc = cases.get(name!)!;
      expect(tc.failure).toBeUndefined();
      expect(tc.error).toBeUndefined();
      expect(tc.skipped).toBeUndefined();
    }
  });

  test('walking, the checks run one at a time, in lesson order: each performs a step', () => {
    expect(
      overlappingChecks(
        timings,
        CATALOGUE.map((c) => c.id),
      ),
    ).toEqual([]);
    const started = [...readFileSync(timings, 'utf8').matchAll(/^\d+ \d+ check (\w+): start$/gm)].map((m) => m[1]);
    expect(started).toEqual([
      'H1',
      'H2',
      'H3',
      'H4',
      'C1',
      'C2',
      'C3',
      'R1',
      'R2',
      'R3',
      'R5',
      'R4',
      'R6',
      'N1',
      'N2',
      'N3',
      'K1',
      'K2',
      'K3',
      'K4',
    ]);
  });

  test(
    'N2 saw nerdctl fail for want of the bridge plugin, ' +
      "and the report says which text and that the lesson's differs",
    () => {
      const n2 = first.report!.checks.find((c) => c.id === 'N2')!;
      expect(
        n2.transcript.some((e) => /needs CNI plugin \\*"bridge\\*" to be installed in CNI_PATH/.test(e.stderr)),
      ).toBe(true);
      expect(n2.transcript.map((e) => e.command).join('\n')).toMatch(
        /N2 saw nerdctl's pre-flight error; the lesson's text differs/,
      );
    },
  );

  test('N3 and K3 met the real podinfo: its version from --version, its own JSON over the bridge', () => {
    const n3 = first.report!.checks.find((c) => c.id === 'N3')!;
    expect(n3.transcript.find((e) => e.command.includes('--net host'))!.stdout.trim()).toBe(PODINFO.release);
    const k3 = first.report!.checks.find((c) => c.id === 'K3')!;
    const curl = k3.transcript.find((e) => e.command.startsWith('curl '))!;
    const body = JSON.parse(curl.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({
      version: PODINFO.release,
      message: expect.stringContaining('greetings from podinfo') as unknown,
    });
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
    expect(n).toEqual({ passed: 20, failed: 0, error: 0, skipped: 0 });
    const junit = first.junit!;
    expect(junit).toMatch(new RegExp(`<testsuites [^>]*tests="20" failures="${n.failed}" errors="${n.error}"`));
    expect(junit.match(/<skipped>/g) ?? []).toHaveLength(n.skipped);
    const md = readFileSync(join(first.reportsDir, 'summary.md'), 'utf8');
    expect(md).toContain(
      `## lesson-check: ${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`,
    );
    const html = readFileSync(join(first.reportsDir, 'report.html'), 'utf8');
    for (const state of ['passed', 'failed', 'error', 'skipped'] as const)
      expect(html.match(new RegExp(`data-state="${state}"`, 'g')) ?? []).toHaveLength(n[state]);
  });

  test('the console shows no colour codes when piped or with NO_COLOR', () => {
    expect(first.output).not.toMatch(new RegExp(String.raw`\u001b\[`));
    expect(first.output).toMatch(/^ {2}✓ R6 /m);
  });

  test('the reports say which source was chosen and why the others were not, and which images are stand-ins', () => {
    expect(first.report).toMatchObject({ mode: 'lab', source: 'go', standInImages: true });
    const notes = first.report!.notes.join('\n');
    expect(notes).toMatch(/^source github: not taken \(auto\): /m);
    expect(notes).toMatch(/^source go: chosen \(auto\)/m);
    expect(notes).toMatch(/^built from github\.com\/containerd\/nerdctl\/v2@v2\.2\.1 /m);
    expect(notes).toMatch(/^image sagikazarmark\/docker-hello-world:latest: a lesson-check stand-in/m);
    expect(notes).toContain(
      `image stefanprodan/podinfo:latest: podinfo ${PODINFO.release}, built from ${PODINFO.module}@${PODINFO.version}`,
    );
    expect(first.output).toMatch(/source go: chosen \(auto\)/);
    expect(first.junit).toContain('name="stand-in images" value="true"');
  });

  test('the apt source walks the lesson too, and skips the nerdctl checks, saying there is no nerdctl', async () => {
    const run = await runLab(['--source', 'apt']);
    expect(run.exitCode, run.output).toBe(0);
    expect(states(run)).toEqual(
      Object.fromEntries(CATALOGUE.map(({ id }) => [id, NERDCTL_CHECKS.includes(id) ? 'skipped' : 'passed'])),
    );
    for (const id of NERDCTL_CHECKS)
      expect(run.report!.checks.find((c) => c.id === id)!.skipReason).toMatch(
        /nerdctl is not available from the apt source/,
      );
    expect(run.report!.source).toBe('apt');
    expect(await labTraces()).toEqual(before);
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
    let ended = false;
    let missed = '';
    const run = await runLab([], (output, pid) => {
      const id = /lab ([0-9a-f]{6}) at/.exec(output)?.[1];
      if (!id || watching) return;
      watching = true;
      // interrupt once the bridge probe has wired its network namespace: the most state there is
      const netns = async () => (await execa('ip', ['netns', 'list'], { reject: false })).stdout;
      eventually(`the bridge probe's netns lc-${id}-k4`, async () => (await netns()).includes(`lc-${id}-k4`), 60_000, {
        intervalMs: 5,
        hopeless: () => (ended ? 'the lab ended' : undefined),
        observe: netns,
      }).then(
        () => {
          interruptedInK4 = true;
          process.kill(-pid, 'SIGINT');
        },
        (e: unknown) => (missed = e instanceof Error ? e.message : String(e)),
      );
    });
    ended = true;
    expect(interruptedInK4, `${missed}\n${run.output}`).toBe(true);
    expect(run.output).toContain('SIGINT received');
    expect(run.output).toMatch(/torn down .* prefix removed/);
    expect(run.exitCode === 130 || run.signal === 'SIGINT', `exit ${run.exitCode}, signal ${run.signal}`).toBe(true);
    expect(await labTraces()).toEqual(before);
  });

  test(
    'from forwarding off, in a network namespace of its own: a lab, and a lab SIGKILLed after K3 then ' +
      '`lab --down`, put forwarding back off and leave runc states and shim sockets as they were',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lc-netns-lab-'));
      // as the issue reproduced it: a fresh namespace, loopback up, forwarding off
      const script = [
        'ip link set lo up; sysctl -qw net.ipv4.ip_forward=0',
        'forwarding() { cat /proc/sys/net/ipv4/ip_forward; }',
        'node "$2" lab --reports "$1/a" > "$1/a.log" 2>&1; echo "lab $? forwarding $(forwarding)"',
        'node "$2" lab --reports "$1/b" > "$1/b.log" 2>&1 & pid=$!',
        // K3 done: nerdctl's bridge is up and has turned forwarding on
        'for i in $(seq 1200); do grep -q "✓ K3 " "$1/b.log" && break; sleep 0.1; done',
        'kill -9 $pid; wait $pid; echo "killed $? forwarding $(forwarding)"',
        'node "$2" lab --down > "$1/down.log" 2>&1; echo "down $? forwarding $(forwarding)"',
      ].join('\n');
      const cli = new URL('../bin/lesson-check.js', import.meta.url).pathname;
      const r = await execa('unshare', ['-n', 'sh', '-c', script, 'sh', dir, cli], { reject: false });
      const log = (f: string) => readFileSync(join(dir, f), 'utf8');
      expect(r.stdout.split('\n'), `${r.stderr}\n${log('a.log')}\n${log('b.log')}`).toEqual([
        'lab 0 forwarding 0',
        'killed 137 forwarding 1',
        'down 0 forwarding 0',
      ]);
      expect(log('down.log')).toMatch(/lab [0-9a-f]{6} removed/);
      expect(await labTraces()).toEqual(before);
    },
  );

  test(
    "`lab --down` from a network namespace of its own removes a lab of the host's there: " +
      'its bridge goes and forwarding is put back off',
    async () => {
      const found = readFileSync(FORWARD, 'utf8');
      writeFileSync(FORWARD, '0');
      try {
        const profile = await keepLab();
        const id = loadProfile(profile).prefix.split('/').pop()!;
        // K2's nerdctl bridge turned it on, as on a fresh host
        expect(readFileSync(FORWARD, 'utf8').trim()).toBe('1');
        const cli = new URL('../bin/lesson-check.js', import.meta.url).pathname;
        const down = await execa('unshare', ['-n', process.execPath, cli, 'lab', '--down'], {
          reject: false,
          all: true,
        });
        expect(down.exitCode, down.all).toBe(0);
        expect(down.all).toMatch(new RegExp(`lab ${id} removed`));
        expect(readFileSync(FORWARD, 'utf8').trim()).toBe('0');
        expect((await execa('ip', ['-o', 'link', 'show'])).stdout).not.toContain(`lc${id}`);
        expect(existsSync('/run/lesson-check-ip-forward')).toBe(false);
      } finally {
        writeFileSync(FORWARD, found);
      }
      expect(await labTraces()).toEqual(before);
    },
  );

  test(
    "the lab's registry stopping mid-walk is a setup error that names it, " + 'exit 2, and the lab is torn down',
    async () => {
      let killed = false;
      const run = await runLab([], (output) => {
        const id = /lab ([0-9a-f]{6}) at/.exec(output)?.[1];
        if (killed || !id || !/✓ C2 /.test(output)) return;
        killed = true;
        const state = JSON.parse(readFileSync(join(LABS_ROOT, id, 'lab', 'lab.json'), 'utf8')) as {
          registry: { pid: number };
        };
        process.kill(state.registry.pid, 'SIGKILL');
      });
      expect(killed, run.output).toBe(true);
      expect(run.exitCode, run.output).toBe(2);
      expect(run.output).toMatch(
        /lesson-check lab: the lab's registry \(http:\/\/127\.0\.0\.1:\d+, PID \d+\) stopped during the walk/,
      );
      expect(run.output).toMatch(/torn down .* prefix removed/);
      expect(await labTraces()).toEqual(before);
    },
  );

  test('a config without SystemdCgroup fails R3 alone: R4 is blocked by it, R5 still restarts', async () => {
    const run = await runLab(['--fault', 'config-without-systemd-cgroup']);
    expect(run.exitCode).toBe(1);
    const failed = run.report!.checks.filter((c) => c.state === 'failed' || c.state === 'error');
    expect(failed.map((c) => c.id)).toEqual(['R3']);
    expect(failed[0]).toMatchObject({
      expected: expect.stringContaining('SystemdCgroup') as unknown,
      observed: 'SystemdCgroup = (absent)',
      cause: 'SystemdCgroup is not set',
    });
    expect(run.report!.checks.find((c) => c.id === 'R4')).toMatchObject({
      state: 'skipped',
      skipReason: 'blocked by R3: SystemdCgroup is not set',
    });
    expect(run.report!.checks.find((c) => c.id === 'R5')?.state).toBe('passed');
  });

  test('a runc that is not executable fails R2 alone: R6 and K4 are blocked by it, not failed', async () => {
    const run = await runLab(['--fault', 'runc-not-executable']);
    expect(run.exitCode).toBe(1);
    const failed = run.report!.checks.filter((c) => c.state === 'failed' || c.state === 'error');
    expect(failed.map((c) => c.id)).toEqual(['R2']);
    expect(failed[0]).toMatchObject({
      expected: expect.stringContaining('mode 0755') as unknown,
      observed: 'mode 0644',
      hint: expect.stringContaining('install -m 755') as unknown,
    });
    expect(run.report!.checks.find((c) => c.id === 'K4')).toMatchObject({
      state: 'skipped',
      skipReason: expect.stringMatching(/^blocked by R2: /) as unknown,
    });
  });
});
