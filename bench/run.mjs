#!/usr/bin/env node
// npm run bench [-- --runs N]: on a kept lab, times `lesson-check verify` against the same checks
// as bare shell commands (bench/bare-verify.sh), alternating them; times `npm run lab` warm; says
// where the time goes, stage by stage, from the transcripts' own durations; writes RESULTS.md.
import { cpus } from 'node:os';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $, argv } from 'zx';

$.verbose = false;
const root = new URL('..', import.meta.url).pathname;
const runs = Number(argv.runs ?? 5);
const cli = ['node', join(root, 'bin/lesson-check.js')];

const seconds = (ms) => (ms / 1000).toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(cmd) {
  const t0 = performance.now();
  await cmd;
  return performance.now() - t0;
}
function stages(resultsFile) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const by = new Map();
  for (const c of r.checks) {
    const commands = c.transcript.filter((e) => e.outcome);
    const s = by.get(c.stage) ?? { checks: 0, ms: 0, commands: 0, commandMs: 0 };
    by.set(c.stage, { checks: s.checks + 1, ms: s.ms + c.durationMs, commands: s.commands + commands.length, commandMs: s.commandMs + commands.reduce((a, e) => a + e.durationMs, 0) });
  }
  return { run: r.durationMs, by };
}

console.log('bench: keeping a lab up…');
const kept = await $`${cli} lab --keep --quiet --reports ${mkdtempSync(join(tmpdir(), 'bench-lab-'))}`.nothrow();
const profile = /its profile: (\S+)/.exec(kept.stderr + kept.stdout)?.[1];
if (!profile) throw new Error(`lab --keep failed:\n${kept.stderr}`);
const prefix = /^prefix = "(.*)"$/m.exec(readFileSync(profile, 'utf8'))[1];
try {
  // the bare script must pass, or it is not measuring the same thing
  await $`bash ${join(root, 'bench/bare-verify.sh')} ${prefix}`;
  const verifyMs = [];
  const bareMs = [];
  const reports = mkdtempSync(join(tmpdir(), 'bench-verify-'));
  for (let i = 0; i < runs; i++) {
    verifyMs.push(await timed($`${cli} verify --profile ${profile} --quiet --reports ${reports}`));
    bareMs.push(await timed($`bash ${join(root, 'bench/bare-verify.sh')} ${prefix}`));
    process.stdout.write(`  run ${i + 1}/${runs}: verify ${seconds(verifyMs.at(-1))} s, bare ${seconds(bareMs.at(-1))} s\n`);
  }
  const verifyStages = stages(join(reports, 'results.json'));
  const boot = await timed($`${cli} --help`);

  const labReports = mkdtempSync(join(tmpdir(), 'bench-lab-'));
  const labMs = await timed($`npm run --silent --prefix ${root} lab -- --quiet --reports ${labReports}`);
  const labStages = stages(join(labReports, 'results.json'));

  const ratio = median(verifyMs) / median(bareMs);
  const table = (by) => [...by].map(([s, v]) => `| ${s} | ${v.checks} | ${v.commands} | ${seconds(v.commandMs)} s | ${seconds(v.ms)} s |`).join('\n');
  const checksMs = [...verifyStages.by.values()].reduce((a, v) => a + v.ms, 0);
  const md = `# Benchmark results

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node.js ${process.version}, by \`npm run bench\` (${runs} alternating runs against one kept lab).

## verify against the bare commands

| | median | min | max |
|---|---:|---:|---:|
| \`lesson-check verify\` | ${seconds(median(verifyMs))} s | ${seconds(Math.min(...verifyMs))} s | ${seconds(Math.max(...verifyMs))} s |
| \`bench/bare-verify.sh\` | ${seconds(median(bareMs))} s | ${seconds(Math.min(...bareMs))} s | ${seconds(Math.max(...bareMs))} s |

**Ratio verify / bare: ${ratio.toFixed(2)}** (budget: 1.5).

Where verify's time goes (last run): the CLI's own start (\`lesson-check --help\`) ${seconds(boot)} s; the checks ${seconds(checksMs)} s, of which their commands ${seconds([...verifyStages.by.values()].reduce((a, v) => a + v.commandMs, 0))} s; vitest's run around them ${seconds(verifyStages.run - checksMs)} s; the rest (vitest's process start, reports, removing the run's namespace) ${seconds(median(verifyMs) - boot - verifyStages.run)} s.

| stage | checks | commands | in commands | in checks |
|---|---:|---:|---:|---:|
${table(verifyStages.by)}

## npm run lab, warm cache

${seconds(labMs)} s in all.

| stage | checks | commands | in commands | in checks |
|---|---:|---:|---:|---:|
${table(labStages.by)}
`;
  writeFileSync(join(root, 'bench/RESULTS.md'), md);
  console.log(md);
} finally {
  await $`${cli} lab --down --profile ${profile}`.nothrow();
}
