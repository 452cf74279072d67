// A class of N complete hosts graded at the default settings (`grade --inventory`, --parallel 4,
// --host-timeout 600), over ssh on loopback, one kept lab behind every host: the class's wall
// time, how many hosts fell short of 20/20 (load must never cost a student points), how many
// checks erred for time and how many hosts were checked again alone.
// Run as root: `npm run bench:class` (HOSTS=30 by default; node --import tsx, for the tests' class helper).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { CLI, ROOT, seconds, writeSection } from './lib.mjs';

const { hostileClass } = await import('../test/hostile-class.ts');
const { keepLab, removeLab } = await import('../test/support/labs.ts');
const { loadProfile } = await import('../helpers/profile.ts');

const HOSTS = Number(process.env.HOSTS ?? 30);

function gradeClass(inventory, env) {
  const reports = mkdtempSync(join(tmpdir(), 'lc-bench-class-'));
  const started = performance.now();
  const child = spawn(CLI[0], [...CLI.slice(1), 'grade', '--inventory', inventory, '--reports', reports], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d.toString()));
  return new Promise((done) =>
    child.once('exit', (code) => {
      const wallMs = performance.now() - started;
      const runs = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')).runs;
      const short = runs.filter((r) => r.grade.percent !== 100);
      const timeErrors = runs.flatMap((r) => r.checks).filter((c) => c.cause?.includes('did not answer within'));
      const again = (output.match(/, checked again alone:/g) ?? []).length;
      done({ code, wallMs, hosts: runs.length, short, timeErrors: timeErrors.length, again, output });
    }),
  );
}

const profile = await keepLab();
let r;
try {
  const hosts = Array.from({ length: HOSTS }, (_, i) => ({
    name: `host-${String(i + 1).padStart(2, '0')}`,
    does: 'honest',
  }));
  const cls = await hostileClass(profile, hosts);
  try {
    r = await gradeClass(cls.inventory, cls.env);
  } finally {
    await cls.stop();
  }
} finally {
  await removeLab(loadProfile(profile).prefix);
}
console.log(r.output);
const shortText = r.short.map((x) => `${x.host} ${x.grade.percent}%`).join(', ') || 'none';
const body = [
  '## A class at the default settings',
  '',
  `\`grade --inventory …\` of ${HOSTS} complete hosts at the defaults (4 at a time), over ssh on loopback`,
  '(one sshd, one kept lab behind every host), on this 2-core machine, one run.',
  '',
  '| hosts | wall time | exit | hosts short of 20/20 | checks erred for time | hosts checked again alone |',
  '|---:|---:|---:|---|---:|---:|',
  `| ${r.hosts} | ${seconds(r.wallMs, 1)} s | ${r.code} | ${shortText} | ${r.timeErrors} | ${r.again} |`,
].join('\n');
console.log(`\n${writeSection('class', body)}`);
