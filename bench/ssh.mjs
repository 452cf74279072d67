// npm run bench:ssh [-- --runs N]: on one kept lab, `verify` run locally against
// `verify --target ssh://root@127.0.0.1:PORT` through a stock sshd on loopback (root's own HOME,
// so its ~/.bashrc runs as on any host), in alternating rounds: with the runner (one session per
// host, the default) and with a session per command (LC_SSH_RUNNER=0, as before it). Then where
// a remote command's time goes: 50 `true`s one after another and 8 at once, locally, through the
// runner, a session each, and a session each with a HOME that has no .bashrc. Writes the `ssh`
// section of bench/RESULTS.md; exits 1 when the median ratio ssh/local is over 1.5.
// Run as root (node --import tsx, for the tests' sshd and lab helpers).
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, median, seconds, timed, writeSection } from './lib.mjs';

const { startSshd } = await import('../test/sshd.ts');
const { keepLab, removeLab } = await import('../test/support/labs.ts');
const { loadProfile } = await import('../helpers/profile.ts');
const { SshTransport } = await import('../helpers/host/ssh.ts');
const { LocalTransport } = await import('../helpers/host/transport.ts');

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 7);
const BUDGET = 1.5;
const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-bench-ssh-'));

/** The commands of a verify's results.json: how many, their median and summed time. */
function commands(reportsDir) {
  const report = JSON.parse(readFileSync(join(reportsDir, 'results.json'), 'utf8'));
  const run = report.runs ? report.runs[0] : report;
  const ms = run.checks
    .flatMap((c) => c.transcript.filter((e) => e.outcome).map((e) => e.durationMs))
    .sort((a, b) => a - b);
  return { count: ms.length, median: median(ms), sum: ms.reduce((a, b) => a + b, 0), max: ms.at(-1) };
}

const profile = await keepLab();
const stock = await startSshd({ stockHome: true });
const plain = await startSshd();
try {
  // the tests' sshd trusts its own key: the client finds it through the ssh_config
  for (const s of [stock, plain]) appendFileSync(s.config, `  IdentityFile ${s.key}\n  IdentitiesOnly yes\n`);
  const verify = async (mode) => {
    const reports = join(scratch, mode);
    const target = mode === 'local' ? [] : ['--target', `ssh://root@127.0.0.1:${stock.port}`];
    const env = {
      ...process.env,
      LC_SSH_CONFIG: stock.config,
      ...(mode === 'session each' ? { LC_SSH_RUNNER: '0' } : {}),
    };
    const ms = await timed(
      execa(CLI[0], [...CLI.slice(1), 'verify', '--profile', profile, '--quiet', '--reports', reports, ...target], {
        env,
      }),
    );
    return { ms, ...commands(reports) };
  };
  const modes = ['local', 'runner', 'session each'];
  for (const m of modes) await verify(m); // warm-up
  const by = Object.fromEntries(modes.map((m) => [m, []]));
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    for (const m of modes) by[m].push(await verify(m));
    ratios.push(by.runner.at(-1).ms / by.local.at(-1).ms);
    console.log(`  round ${i + 1}/${runs}: ${modes.map((m) => `${m} ${seconds(by[m].at(-1).ms)} s`).join(', ')}`);
  }
  const ratio = median(ratios);

  // one command's cost, four ways
  process.env.LC_SSH_CONFIG = stock.config;
  const ways = {
    local: () => new LocalTransport(),
    'ssh, the runner': () => new SshTransport({ name: 'lo', host: '127.0.0.1', port: stock.port, user: 'root' }),
    'ssh, a session each': () => new SshTransport({ name: 'lo', host: '127.0.0.1', port: stock.port, user: 'root' }),
    'ssh, a session each, no .bashrc': () =>
      new SshTransport({ name: 'lo', host: '127.0.0.1', port: plain.port, user: 'root', identityFile: plain.key }),
  };
  const perCommand = [];
  for (const [way, make] of Object.entries(ways)) {
    if (way.includes('session each')) process.env.LC_SSH_RUNNER = '0';
    else delete process.env.LC_SSH_RUNNER;
    const t = make();
    await t.run(['true']); // the connection, and the runner, opened
    const sequential = await timed(
      (async () => {
        for (let i = 0; i < 50; i++) await t.run(['true']);
      })(),
    );
    const atOnce = await timed(
      Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 10; i++) await t.run(['true']);
        }),
      ),
    );
    await t.close?.();
    perCommand.push({ way, sequential: sequential / 50, atOnce: atOnce / 80 });
  }
  delete process.env.LC_SSH_RUNNER;
  delete process.env.LC_SSH_CONFIG;
  // what root's .bashrc costs alone, as bash runs it for every command sshd starts
  const bashrcMs = [];
  for (let i = 0; i < 10; i++) bashrcMs.push(await timed(execa('bash', ['-c', '. ~/.bashrc'], { reject: false })));
  const bashrc = median(bashrcMs);

  const [, runner, eachSession, noBashrc] = perCommand;
  const TITLES = {
    local: '`verify`',
    runner: '`verify --target ssh://…` (the default: a runner)',
    'session each': '`LC_SSH_RUNNER=0 verify --target ssh://…` (a session per command)',
  };
  const row = (m) => {
    const wall = by[m].map((x) => x.ms);
    const last = by[m].at(-1);
    return (
      `| ${TITLES[m]} | ${seconds(median(wall))} s | ${seconds(Math.min(...wall))}–${seconds(Math.max(...wall))} s ` +
      `| ${last.count} | ${last.median} ms | ${seconds(last.sum, 1)} s | ${last.max} ms |`
    );
  };
  const body = [
    '## verify over ssh against verify here',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:ssh\`: one kept lab (the go source,`,
    `20 checks), ${runs} alternating rounds after a warm-up, a stock sshd on loopback (MaxSessions 10; root's`,
    "own HOME, so bash runs this machine's root ~/.bashrc, which starts pyenv, for every session).",
    '',
    '| | wall, median | range | commands | command, median | in commands | slowest |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...modes.map(row),
    '',
    `**Ratio ssh / local: ${ratio.toFixed(2)}** (median of the rounds' ratios; budget ${BUDGET}) — ` +
      `${ratio <= BUDGET ? 'within budget' : 'over budget'}.`,
    '',
    "Where a remote command's time goes: `true`, 50 one after another and 8 at once (10 each), per command:",
    '',
    '| | one at a time | 8 at once |',
    '|---|---:|---:|',
    ...perCommand.map((p) => `| ${p.way} | ${p.sequential.toFixed(1)} ms | ${p.atOnce.toFixed(1)} ms |`),
    '',
    `root's ~/.bashrc alone (\`bash -c '. ~/.bashrc'\`, median of 10): ${Math.round(bashrc)} ms.`,
    '',
    'So a session per command costs a new session on the shared connection (sshd forks, the login',
    `shell starts: ${(noBashrc.sequential - runner.sequential).toFixed(0)} ms more than the runner's round trip), ` +
      `plus the login shell's ~/.bashrc (${(eachSession.sequential - noBashrc.sequential).toFixed(0)} ms more here). ` +
      'Eight at once, they share',
    `2 cores, and a command of a verify waited ${by['session each'].at(-1).median} ms (median) for what takes ` +
      `${by.local.at(-1).median} ms here. Not sshd's MaxSessions: lesson-check opens at most 8 at once, under its 10.`,
    'Through the runner, a command costs one round trip and a few processes more than here.',
  ].join('\n');
  console.log(`\n${writeSection('ssh', body)}`);
  if (ratio > BUDGET) process.exitCode = 1;
} finally {
  await stock.stop();
  await plain.stop();
  await removeLab(loadProfile(profile).prefix);
  rmSync(scratch, { recursive: true, force: true });
}
