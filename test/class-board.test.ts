// As root: the grader's live class board. Three kept labs as three hosts over Debian's sshd on
// loopback: student-a finished, student-b finished, student-c walked only as far as C3. During
// `grade --inventory … --watch`, student-c walks on (runc installed) and student-b breaks an
// earlier step (runc made 0644): the board's lines say each change for that host alone,
// report.html is rewritten in place and reloads itself, and after Ctrl-C the final reports are
// those a plain grade of the class gives.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Host } from '../helpers/host/host.ts';
import { Lab } from '../helpers/lab/lab.ts';
import { loadProfile } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { lessonCheck } from './support/cli.ts';
import { keepLabs } from './support/labs.ts';
import { type Sshd, startSshd } from './sshd.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The page's cell of `host`'s R2 in `state` (a row's cells are the checks in catalogue order). */
const R2_OF = (host: string, state: string) =>
  new RegExp(`<th>${host}</th>(<td[^>]*>[^<]*</td>)*?<td class="${state}" title="R2 `);

needs(AS_ROOT, SSHD).describe('grade --watch: the live class board', () => {
  let sshd: Sshd;
  let labs: ReturnType<typeof keepLabs> | undefined;
  let profiles: string[] = [];
  let inventory: string;
  let reports: string;
  let board: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    sshd = await startSshd();
    labs = keepLabs([[], [], ['--until', 'C3']]);
    profiles = await labs.ready;
    inventory = join(mkdtempSync(join(tmpdir(), 'lc-board-')), 'class.ini');
    writeFileSync(
      inventory,
      [
        '[class]',
        ...['a', 'b', 'c'].map(
          (s, i) => `student-${s} ansible_host=127.0.0.1 ansible_port=${sshd.port} lesson_check_profile=${profiles[i]}`,
        ),
        '[class:vars]',
        'ansible_user=root',
        `ansible_ssh_private_key_file=${sshd.key}`,
        '',
      ].join('\n'),
    );
    reports = mkdtempSync(join(tmpdir(), 'lc-board-reports-'));
    board = spawn(
      process.execPath,
      [join(ROOT, 'bin/lesson-check.js'), 'grade', '--inventory', inventory, '--watch', '--reports', reports],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', LC_SSH_CONFIG: sshd.config },
      },
    );
    board.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    board.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  }, 300_000);

  afterAll(async () => {
    if (board && board.exitCode === null) board.kill('SIGKILL');
    await labs?.remove();
    await sshd?.stop();
  }, 120_000);

  /** Waits until the board printed `pattern` after `from` characters. */
  async function sees(pattern: RegExp, from: number, limitMs = 60_000): Promise<void> {
    await eventually(`the board printing ${pattern}`, () => pattern.test(output.slice(from)), limitMs, {
      observe: () => output,
    });
  }

  test('one host walked on, one broken: each shows alone, the page follows; Ctrl-C: the plain grade', async () => {
    await sees(/student-a: \S+ all sections complete/, 0, 120_000);
    await sees(/student-c: \S+ you are here: Install runc \(step 3\)/, 0);
    const html = () => readFileSync(join(reports, 'report.html'), 'utf8');
    expect(html()).toContain('<meta http-equiv="refresh" content="5">');

    let from = output.length;
    const c = loadProfile(profiles[2]!);
    await Lab.open(join(c.prefix, 'lab', 'lab.json'), new Host(new LocalTransport()), c).installRunc();
    await sees(/student-c: \S+ you are here: Configure containerd \(step 4\)/, from);
    expect(output.slice(from)).not.toMatch(/student-[ab]:/);
    // the page says student-c's R2 passed now
    expect(html()).toMatch(R2_OF('student-c', 'passed'));

    from = output.length;
    chmodSync(join(loadProfile(profiles[1]!).prefix, 'usr/local/sbin/runc'), 0o644);
    await sees(/student-b: \S+ broken: Install runc \(step 3\)/, from);
    expect(output.slice(from)).not.toMatch(/student-[ac]:/);
    // and the page says student-b's R2 failed, student-c's still passed
    expect(html()).toMatch(R2_OF('student-b', 'failed'));
    expect(html()).toMatch(R2_OF('student-c', 'passed'));

    const ended = new Promise<number | null>((done) => board!.once('exit', (code) => done(code)));
    board!.kill('SIGINT');
    expect(await ended).toBe(130);
    expect(html()).not.toContain('http-equiv="refresh"');
    const plain = await lessonCheck(['grade', '--inventory', inventory], { LC_SSH_CONFIG: sshd.config });
    const states = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { runs: RunReport[] }).runs.map((r) => ({
        host: r.host,
        checks: r.checks.map((k) => `${k.id} ${k.state} ${k.cause ?? ''}`),
        grade: r.grade,
      }));
    expect(states(reports)).toEqual(states(plain.reportsDir));
  }, 600_000);
});
