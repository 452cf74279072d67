#!/usr/bin/env node
// npm run bench:first-run: what a newcomer's first `npm run lab` shows while it works. Runs the
// lab with every cache pointed at empty folders (the Go module and build caches, the go source's
// and the apt source's; so every module and package is downloaded and every release built), once
// with stdout piped (a CI log) and once under a pseudo-terminal (util-linux `script`), and times
// each stretch without new output. Writes the figures into bench/RESULTS.md (first-run markers).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RESULTS, ROOT, seconds, writeSection } from './lib.mjs';

/** Runs `argv` with `env`, noting when each chunk of output arrives. */
function watch(argv, env) {
  return new Promise((done) => {
    const started = performance.now();
    const arrivals = [];
    const chunks = [];
    let text = '';
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const note = (d) => {
      arrivals.push(performance.now() - started);
      chunks.push(d.toString());
      text += d.toString();
    };
    child.stdout.on('data', note);
    child.stderr.on('data', note);
    child.once('close', (code) => done({ code, ms: performance.now() - started, arrivals, chunks, text }));
  });
}

/** The longest stretch with no new output, from the start to the end, and what ended it. */
function longestSilence({ arrivals, chunks, ms }) {
  const marks = [0, ...arrivals, ms];
  const gaps = marks.slice(1).map((t, i) => t - marks[i]);
  const at = gaps.indexOf(Math.max(...gaps));
  return { ms: gaps[at], before: JSON.stringify((chunks[at] ?? '(the end)').slice(0, 100)) };
}

// `npm run bench:first-run -- piped` (or terminal): that one alone
const modes = ['piped', 'terminal'].filter((m) => !process.argv[2] || process.argv[2] === m);
const results = [];
for (const mode of modes) {
  const scratch = mkdtempSync(join(tmpdir(), 'lesson-check-first-run-'));
  try {
    const env = {
      ...process.env,
      GOMODCACHE: join(scratch, 'gomod'),
      GOCACHE: join(scratch, 'gocache'),
      GOFLAGS: `${process.env.GOFLAGS ?? ''} -modcacherw`.trim(),
      LC_GO_CACHE_DIR: join(scratch, 'lc-go'),
      LC_CACHE_DIR: join(scratch, 'lc-apt'),
    };
    delete env.CI;
    const lab = ['node', `${ROOT}bin/lesson-check.js`, 'lab', '--reports', join(scratch, 'reports')];
    // `script` gives the lab a terminal of its own, and copies what it draws to our pipe
    const argv =
      mode === 'piped' ? lab : ['script', '--quiet', '--flush', '--return', '--command', lab.join(' '), '/dev/null'];
    console.log(`bench: a cold npm run lab, stdout ${mode === 'piped' ? 'piped' : 'a terminal'}…`);
    const run = await watch(argv, env);
    if (run.code !== 0) throw new Error(`the lab failed (exit ${run.code}):\n${run.text.slice(-3000)}`);
    const silence = longestSilence(run);
    const built = /set up in ([\d.]+) s/.exec(run.text)?.[1];
    console.log(
      `  ${seconds(run.ms, 0)} s in all, set up in ${built} s; ` +
        `longest silence ${seconds(silence.ms, 1)} s, ended by ${silence.before}`,
    );
    results.push({ mode, ms: run.ms, setup: Number(built), silence: silence.ms, before: silence.before });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const label = (mode) => (mode === 'piped' ? 'piped (a CI log)' : 'a terminal (script)');
// a mode not run this time keeps its row from the last run
const kept = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
const previous = (mode) => kept.split('\n').find((l) => l.startsWith(`| ${label(mode)} |`));
const rows = ['piped', 'terminal'].flatMap((mode) => {
  const r = results.find((x) => x.mode === mode);
  if (!r) return previous(mode) ? [previous(mode)] : [];
  const row = [label(mode), `${seconds(r.ms, 0)} s`, `${r.setup.toFixed(1)} s`, `${seconds(r.silence, 1)} s`];
  return [`| ${[...row, `\`${r.before.replace(/\|/g, '\\|')}\``].join(' | ')} |`];
});
const section = writeSection(
  'first-run',
  `## A newcomer's first run: progress while it builds

A cold \`npm run lab\` (every cache an empty folder: Go's module and build caches, the go and apt
sources'), measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:first-run\`. The longest
silence is the longest stretch with no new output on the console.

| stdout | whole run | set-up | longest silence | the output that ended it |
|---|---:|---:|---:|---|
${rows.join('\n')}
`,
);
console.log(section);
