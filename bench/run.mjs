#!/usr/bin/env node
// npm run bench [-- --runs N]: on two kept labs, one with nerdctl (the go source) and one without
// (apt), times verify as the README runs it (`lesson-check verify`, the command `npm link`
// installs) against the same commands run bare, one after another (bench/bare-verify.sh), in
// alternating pairs, and `npx lesson-check verify` beside them; times `npm run lab` warm; says
// where verify's time goes, phase by phase (LC_TIMINGS marks) and stage by stage (the
// transcripts' own durations); writes bench/RESULTS.md; exits 1 over budget.
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, argv } from 'zx';
import { RESULTS, keptSections, median, seconds, timed, CLI, ROOT } from './lib.mjs';

$.verbose = false;
const runs = Number(argv.runs ?? 7);
// the README's command: `lesson-check` on PATH, as `npm link` installs it from this checkout
const installed = (await $`command -v lesson-check`.nothrow()).stdout.trim();
if (!installed || realpathSync(installed) !== realpathSync(join(ROOT, 'bin/lesson-check.js')))
  throw new Error(
    `lesson-check on PATH is ${installed || 'missing'}, not this checkout's: run \`npm link\` here first (README)`,
  );
const readme = ['lesson-check'];
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
const labs = [];

/** Keeps a lab of `source` up; its profile and prefix, or why it could not be made. */
async function keepLab(source) {
  console.log(`bench: keeping a lab up (--source ${source})…`);
  const kept = await $`${CLI} lab --keep --quiet --source ${source} --reports ${temp('lab-')}`.nothrow();
  const profile = /its profile: (\S+)/.exec(kept.stderr + kept.stdout)?.[1];
  if (!profile) return { source, missing: kept.stderr.trim().split('\n').at(-1) };
  labs.push(profile);
  return { source, profile, prefix: /^prefix = "(.*)"$/m.exec(readFileSync(profile, 'utf8'))[1] };
}

/** verify as the README runs it, npx, and the bare commands, in turns, `runs` times. */
async function measure({ source, profile, prefix }) {
  // the bare script must pass, or it is not measuring the same thing; one verify warms the caches
  await $`bash ${join(ROOT, 'bench/bare-verify.sh')} ${prefix}`;
  const reports = temp('verify-');
  await $`${readme} verify --profile ${profile} --quiet --reports ${reports}`;
  const verifyMs = [];
  const npxMs = [];
  const bareMs = [];
  const ratios = [];
  const timings = join(reports, 'timings.txt');
  let marks;
  for (let i = 0; i < runs; i++) {
    rmSync(timings, { force: true });
    const t0 = Date.now();
    const env = { ...process.env, LC_TIMINGS: timings };
    verifyMs.push(await timed($({ env })`${readme} verify --profile ${profile} --quiet --reports ${reports}`));
    marks = readMarks(timings);
    marks.named.set('bench: started', t0);
    marks.named.set('bench: ended', Date.now());
    bareMs.push(await timed($`bash ${join(ROOT, 'bench/bare-verify.sh')} ${prefix}`));
    ratios.push(verifyMs.at(-1) / bareMs.at(-1));
    npxMs.push(await timed($`npx lesson-check verify --profile ${profile} --quiet --reports ${reports}`));
    process.stdout.write(
      `  ${source} run ${i + 1}/${runs}: lesson-check verify ${seconds(verifyMs.at(-1))} s, ` +
        `bare ${seconds(bareMs.at(-1))} s, npx ${seconds(npxMs.at(-1))} s\n`,
    );
  }
  return {
    source,
    verifyMs,
    npxMs,
    bareMs,
    ratio: median(ratios),
    marks,
    stages: stages(join(reports, 'results.json'), marks),
  };
}

try {
  const measured = [];
  const missing = [];
  for (const source of ['go', 'apt']) {
    const lab = await keepLab(source);
    if (lab.profile) measured.push(await measure(lab));
    else missing.push(`${source}: ${lab.missing}`);
  }
  if (measured.length === 0) throw new Error(`no lab could be kept: ${missing.join('; ')}`);
  // where the time goes: the lab without nerdctl, where the fixed costs weigh the most
  const { marks, stages: verifyStages } = measured.at(-1);

  const labReports = temp('lab-');
  const labMs = await timed($`npm run --silent --prefix ${ROOT} lab -- --quiet --reports ${labReports}`);
  const labStages = stages(join(labReports, 'results.json'));

  const at = (label) => marks.named.get(label);
  const starts = [...marks.checks.values()].map((c) => c.start);
  const ends = [...marks.checks.values()].map((c) => c.end);
  const phases = [
    ['Node.js starts and loads the CLI (one esbuild bundle)', at('bench: started'), at('cli: modules loaded')],
    ['vitest starts (Node API: options, reporters, vite server)', at('cli: modules loaded'), at('vitest: run start')],
    ['the worker thread starts and loads the suites (one bundle)', at('vitest: run start'), Math.min(...starts)],
    ['the checks, each once what it needs has ended (table below)', Math.min(...starts), Math.max(...ends)],
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
    `by \`npm run bench\` (${runs} alternating runs against each kept lab, after one warm-up run).

## verify, as the README runs it, against the bare commands

${measured.map(table).join('\n\n')}
${missing.length ? `\nNot measured: ${missing.join('; ')}.\n` : ''}
The bare script runs the very commands verify runs (its transcript, check by check; nerdctl's
checks where the lab has nerdctl; the run record and the sweep at the end) one after another with
no reporting. \`lesson-check\` is the command \`npm link\` installs (README); \`npx\` first starts
npm itself.

## Where verify's time goes (the last run on the lab without nerdctl, from its LC_TIMINGS marks)

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
  if (measured.some((m) => m.ratio > BUDGET)) process.exitCode = 1;
} finally {
  for (const profile of labs) await $`${CLI} lab --down --profile ${profile}`.nothrow();
  rmSync(scratch, { recursive: true, force: true });
}

/** One lab's figures: medians, spreads, and the ratio of the pairs' medians against the budget. */
function table(m) {
  const row = (what, ms) =>
    `| ${what} | ${seconds(median(ms))} s | ${seconds(Math.min(...ms))} s | ${seconds(Math.max(...ms))} s |`;
  const over = m.ratio > BUDGET;
  return [
    `### the ${m.source} lab (${m.source === 'go' ? 'with nerdctl: 20 checks' : 'no nerdctl: 15 checks, 5 skipped'})`,
    '',
    '| | median | min | max |',
    '|---|---:|---:|---:|',
    row('`lesson-check verify` (the README)', m.verifyMs),
    row('`npx lesson-check verify`', m.npxMs),
    row('`bench/bare-verify.sh`', m.bareMs),
    '',
    `**Ratio verify / bare: ${m.ratio.toFixed(2)}** (median of the pairs; budget: ${BUDGET}) — ` +
      `${over ? 'OVER' : 'within'} budget.`,
  ].join('\n');
}
