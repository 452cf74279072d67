/**
 * `lesson-check verify --list`: the checks the suites declare, in the order they declare them (a
 * walk's), collected by vitest without running any, each as the catalogue describes it (ID,
 * stage, title, the lesson section a failure points at, the checks it needs, its weight in a
 * grade, its walk step and inspecting part). `--format markdown` prints the catalogue page, docs/CHECKS.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CheckId, STAGES, catalogued } from '../checks/catalogue.ts';
import { ROOT } from '../util/root.ts';
import { SUITE_OPTIONS } from '../suite-run/suite-config.ts';
import { UsageError } from './options.ts';

export interface DeclaredCheck {
  id: string;
  title: string;
  stage: string;
  section: string;
  needs: string[];
  weight: number;
  /** Walking: the lesson step the check performs (or whose absence it proves) first. */
  step?: string;
  /** Inspecting: what the check also proves (a fact a walk cannot get wrong). */
  inspecting?: string;
}

export async function listChecks(format: string): Promise<void> {
  if (!['pretty', 'plain', 'json', 'markdown'].includes(format))
    throw new UsageError(`unknown --format ${format} for --list (pretty, plain, json or markdown)`);
  const checks = await declaredChecks();
  if (format === 'json') process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else if (format === 'markdown') process.stdout.write(renderCatalogue(checks));
  else for (const c of checks) console.log(`${c.id.padEnd(3)} ${c.stage.padEnd(14)} ${fact(c)}`);
}

/** Every check the suites declare, in the order a walk performs them. */
export async function declaredChecks(): Promise<DeclaredCheck[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lesson-check-list-'));
  const file = join(dir, 'declarations.jsonl');
  // the run's own options, as a config of plain values vite imports as it is: a config in the
  // package (vitest.config.ts) would be bundled into a file beside it, and an installed package
  // may be read-only
  const config = join(dir, 'vitest.config.mjs');
  writeFileSync(config, `export default ${JSON.stringify({ test: SUITE_OPTIONS })};\n`);
  try {
    // where npm put vitest: in the package's node_modules, or above it (hoisted)
    const fromRoot = createRequire(join(ROOT, 'package.json'));
    const vitest = join(dirname(fromRoot.resolve('vitest/package.json')), 'vitest.mjs');
    const args = [vitest, 'list', '--root', ROOT, '--config', config, '--configLoader', 'native'];
    const code = await new Promise<number | null>((done) => {
      const p = spawn(process.execPath, args, {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, LC_DECLARATIONS: file },
      });
      p.once('close', done);
    });
    if (code !== 0) throw new Error(`vitest list exited ${code}: the suites could not be collected`);
    const declared = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => declaredCheck((JSON.parse(line) as { id: CheckId }).id));
    // stage files are collected at once, each in its own order: keep that order within a stage
    const stages: string[] = Object.values(STAGES);
    return declared.sort((a, b) => stages.indexOf(a.stage) - stages.indexOf(b.stage));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A declared check, as the catalogue describes it. */
function declaredCheck(id: CheckId): DeclaredCheck {
  const c = catalogued(id);
  return {
    id: c.id,
    title: c.title,
    stage: c.stage,
    section: c.section.name,
    needs: [...c.needs],
    weight: c.weight,
    ...(c.step ? { step: c.step } : {}),
    ...(c.inspecting ? { inspecting: c.inspecting } : {}),
  };
}

/** The title without its ID: the fact the check proves. */
function fact(c: DeclaredCheck): string {
  return c.title.slice(c.id.length + 1);
}

/** The catalogue page (docs/CHECKS.md): generated, and tested against the suites. */
export function renderCatalogue(checks: DeclaredCheck[]): string {
  const lines = [
    '# The check catalogue',
    '',
    '<!-- Generated from the suites by `npm run catalogue`; test/catalogue.test.ts fails when it is stale. -->',
    '',
    'Every check lesson-check runs, in the order a walk performs them (R5 comes before R4: the lesson',
    'restarts containerd before it looks at the merged config). The IDs are stable: reports, grades',
    'and `--only` use them. A check runs only when the checks it **needs** passed (or failed',
    'in a way that leaves what it needs intact); otherwise it is skipped as "blocked by" the first',
    'that did not. **Weight** is its points in a grade; the **section** is where a failure sends the',
    'reader back to in the lesson. **Walking** (lab, walkthrough, machine), a check first performs',
    'its lesson **step**, then judges the state it leaves; inspecting (verify, grade), it only judges,',
    'and some prove a fact more, which a walk cannot get wrong.',
    'How to add one: docs/CONTRIBUTING.md, "Adding a check".',
    '',
  ];
  for (const stage of [...new Set(checks.map((c) => c.stage))]) {
    const ofStage = checks.filter((x) => x.stage === stage);
    lines.push(
      `## Stage ${stage}`,
      '',
      '| ID | fact | lesson section | walking, step | needs | weight |',
      '|---|---|---|---|---|---:|',
    );
    for (const c of ofStage)
      lines.push(
        `| ${c.id} | ${fact(c)} | ${c.section} | ${c.step ?? '—'} | ${c.needs.join(', ') || '—'} | ${c.weight} |`,
      );
    lines.push('');
    const more = ofStage.filter((c) => c.inspecting);
    if (more.length) lines.push(...more.map((c) => `Inspecting, ${c.id} also proves: ${c.inspecting}.`), '');
  }
  return `${lines.join('\n')}`;
}
