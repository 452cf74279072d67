#!/usr/bin/env node
// npm run bench [-- --runs N]: on a kept lab, times `lesson-check verify` against the same
// commands run bare, one after another (bench/bare-verify.sh), alternating the two; times
// `npm run lab` warm; says where verify's time goes, phase by phase (LC_TIMINGS marks) and
// stage by stage (the transcripts' own durations); writes bench/RESULTS.md.
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { RESULTS, keptSections, median, seconds, timed } from './lib.mjs';

$.verbose = false;
const root = new URL('..', import.meta.url).pathname;
const runs = Number(argv.runs ?? 7);
const cli = ['node', join(root, 'bin/lesson-check.js')];
const BUDGET = 1.5;

/** Per stage: checks, commands, time in commands, and wall time from the first check's start to the last one's end. */
function stages(resultsFile, marks) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const by = new Map();
  for (const c of r.checks) {
    const commands = c.transcript.filter((e) => e.outcome);
    const s = by.get(c.stage) ?? { checks: 0, commands: 0, commandMs: 0, start: Infinity, end: 0 };
    const span = marks?.checks.get(c.id);
    by.set(c.stage, {
      checks: s.checks + 1,
      commands: s.commands + commands.length,
      commandMs: s.commandMs + commands.reduce((a, e) => a + e.durationMs, 0),
      start: Math.min(s.start, span?.start ?? Infinity),
      end: Math.max(s.end, span?.end ?? 0),
    });
  }
  return by;
}

/** The LC_TIMINGS marks of one run: named marks, and each check's start and end. */
function readMarks(file) {
  const named = new Map();
  const checks = new Map();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [at, , ...words] = line.split(' ');
    const label = words.join(' ');
    const m = /^check (\w+): (start|end)$/.exec(label);
    if (m) checks.set(m[1], { ...checks.get(m[1]), [m[2]]: Number(at) });
    else if (!named.has(label)) named.set(label, Number(at));
  }
  return { named, checks };
}

// every report of the bench goes below one temp folder, removed at the end
const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-bench-'));
const temp = (name) => mkdtempSync(join(scratch, name));
console.log('bench: keeping a lab up…');
const kept = await $`${cli} lab --keep --quiet --reports ${temp('lab-')}`.nothrow();
const profile = /its profile: (\S+)/.exec(kept.stderr + kept.stdout)?.[1];
if (!profile) {
  rmSync(scratch, { recursive: true, force: true });
  throw new Error(`lab --keep failed:\n${kept.stderr}`);
}
const prefix = /^prefix = "(.*)"$/m.exec(readFileSync(profile, 'utf8'))[1];
try {
  // the bare script must pass, or it is not measuring the same thing; one verify warms the caches
  await $`bash ${join(root, 'bench/bare-verify.sh')} ${prefix}`;
  const reports = temp('verify-');
  await $`${cli} verify --profile ${profile} --quiet --reports ${reports}`;
  const verifyMs = [];
  const bareMs = [];
  const timings = join(reports, 'timings.txt');
  let marks;
  for (let i = 0; i < runs; i++) {
    rmSync(timings, { force: true });
    const t0 = Date.now();
    verifyMs.push(
      await timed(
        $({
          env: { ...process.env, LC_TIMINGS: timings },
        })`${cli} verify --profile ${profile} --quiet --reports ${reports}`,
      ),
    );
    marks = readMarks(timings);
    marks.named.set('bench: started', t0);
    marks.named.set('bench: ended', Date.now());
    bareMs.push(await timed($`bash ${join(root, 'bench/bare-verify.sh')} ${prefix}`));
    process.stdout.write(
      `  run ${i + 1}/${runs}: verify ${seconds(verifyMs.at(-1))} s, bare ${seconds(bareMs.at(-1))} s\n`,
    );
  }
  const verifyStages = stages(join(reports, 'results.json'), marks);

  const labReports = temp('lab-');
  const labMs = await timed($`npm run --silent --prefix ${root} lab -- --quiet --reports ${labReports}`);
  const labStages = stages(join(labReports, 'results.json'));

  const ratio = median(verifyMs) / median(bareMs);
  const at = (label) => marks.named.get(label);
  const starts = [...marks.checks.values()].map((c) => c.start);
  const ends = [...marks.checks.values()].map((c) => c.end);
  const stageSpans = [...verifyStages.values()].filter((v) => v.end).reduce((a, v) => a + v.end - v.start, 0);
  const phases = [
    ['Node.js starts and loads the CLI (one esbuild bundle)', at('bench: started'), at('cli: modules loaded')],
    ['vitest starts (Node API: options, reporters, vite server)', at('cli: modules loaded'), at('vitest: run start')],
    ['the worker thread starts and loads the suites and helpers', at('vitest: run start'), Math.min(...starts)],
    ['the checks, stage by stage (table below)', Math.min(...starts), Math.max(...ends)],
    [
      '  of which: between stages (vitest loads the next stage file)',
      0,
      Math.max(...ends) - Math.min(...starts) - stageSpans,
    ],
    ['reports written (JUnit, JSON, Markdown, HTML)', at('vitest: run end'), at('vitest: reports written')],
    ['vitest closes', at('vitest: reports written'), at('cli: vitest closed')],
    [
      "the run's traces removed (namespace, netns, temp dirs)",
      at('cli: removing run traces'),
      at('cli: run traces removed'),
    ],
    ['the process exits', at('cli: run traces removed'), at('bench: ended')],
  ];
  const stageTable = (by, withWall) =>
    [...by]
      .map(
        ([s, v]) =>
          `| ${s} | ${v.checks} | ${v.commands} | ${seconds(v.commandMs)} s |` +
          `${withWall ? ` ${v.end ? seconds(v.end - v.start) : '0.00'} s |` : ''}`,
      )
      .join('\n');
  const md =
    `# Benchmark results

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores ` +
    `(${cpus()[0]?.model ?? 'unknown CPU'}), Node.js ${process.version}, ` +
    `by \`npm run bench\` (${runs} alternating runs against one kept lab, after one warm-up run).

## verify against the bare commands

| | median | min | max |
|---|---:|---:|---:|
| \`lesson-check verify\` ` +
    `| ${seconds(median(verifyMs))} s | ${seconds(Math.min(...verifyMs))} s | ${seconds(Math.max(...verifyMs))} s |
| \`bench/bare-verify.sh\` ` +
    `| ${seconds(median(bareMs))} s | ${seconds(Math.min(...bareMs))} s | ${seconds(Math.max(...bareMs))} s |

**Ratio verify / bare: ${ratio.toFixed(2)}** (budget: ${BUDGET}) — ${ratio <= BUDGET ? 'within' : 'OVER'} budget.

The bare script runs the very commands verify runs (its transcript, check by check) one after
another with no reporting; verify runs the checks of a stage at once.

## Where verify's time goes (the last run, from its LC_TIMINGS marks)

| phase | time |
|---|---:|
${phases.map(([what, from, to]) => `| ${what} | ${seconds(to - from)} s |`).join('\n')}
| **in all** | **${seconds(at('bench: ended') - at('bench: started'))} s** |

| stage | checks | commands | in commands (summed) | wall |
|---|---:|---:|---:|---:|
${stageTable(verifyStages, true)}

## npm run lab, warm cache

${seconds(labMs)} s in all (the walk runs one check at a time: each performs a lesson step).

| stage | checks | commands | in commands |
|---|---:|---:|---:|
${stageTable(labStages, false)}
`;
  // the sections other benchmarks write (npm run bench:go-build, bench:machine) are kept as they were
  const kept = keptSections();
  writeFileSync(RESULTS, [md, ...kept].join('\n') + (kept.length ? '\n' : ''));
  console.log(md);
  if (ratio > BUDGET) process.exitCode = 1;
} finally {
  await $`${cli} lab --down --profile ${profile}`.nothrow();
  rmSync(scratch, { recursive: true, force: true });
}
