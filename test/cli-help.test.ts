// The command line follows the conventions people's hands know (issue 35): `CMD --help`, `CMD -h`
// and `help CMD` print that command's usage alone, exit 0; each usage names exactly the options
// its parser takes (never one kept for the project's own tests); --version; a usage error is one
// line and where to read more, exit 2. Nothing here needs root, a lab or the network.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../helpers/commands/cli.ts';
import { renderUsage } from '../helpers/commands/usage.ts';
import { lessonProfile } from '../helpers/profile.ts';
import { ROOT } from '../helpers/util/root.ts';

const BIN = join(ROOT, 'bin/lesson-check.js');
const NAMES = Object.keys(COMMANDS);

/** `lesson-check ARGS`, stdout and stderr apart. */
function lessonCheck(args: string[]) {
  return execa(process.execPath, [BIN, ...args], { reject: false, env: { NO_COLOR: '1' } });
}

/** The lines of a text printed with a final newline. */
function linesOf(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** A command's declaration: its options as its parser takes them, and its usage. */
async function declared(name: string) {
  const [spec] = await COMMANDS[name]!.load();
  const shown = Object.entries(spec.options).filter(([, o]) => !o.hidden);
  const hidden = Object.entries(spec.options).filter(([, o]) => o.hidden);
  return { spec, usage: renderUsage(spec), shown, hidden };
}

const flag = (name: string) => new RegExp(`(?<![\\w-])--${name}(?![\\w-])`);

describe('each command has a usage of its own, made from what its parser takes', () => {
  test.each(NAMES)('%s: the usage names every option the parser takes, and no other', async (name) => {
    const { usage, shown, hidden } = await declared(name);
    const synopsis = usage.slice(0, usage.indexOf('\n\n'));
    for (const [option, o] of shown) {
      expect(synopsis, `${name}'s synopsis lacks --${option}`).toMatch(flag(option));
      const line = usage.split('\n').find((l) => new RegExp(`^  (-\\w, )?--${option}(?![\\w-])`).test(l));
      expect(line, `${name}'s usage has no line for --${option}`).toBeDefined();
      // a default the parser fills in is said where the option is
      if (typeof o.default === 'string') expect(line, `--${option}'s default`).toContain(o.default);
    }
    // another command's option, said with its command (`lab --pin`), is that command's
    const own = usage.replace(new RegExp(`\\b(${NAMES.filter((n) => n !== name).join('|')}) --[\\w-]+`, 'g'), '');
    const named = new Set((own.match(/(?<![\w-])--[a-z][\w-]*/g) ?? []).map((f) => f.slice(2)));
    const taken = new Set(['help', ...shown.map(([option]) => option)]);
    expect(
      [...named].filter((f) => !taken.has(f)),
      `${name}'s usage names options it does not take`,
    ).toEqual([]);
    for (const [option] of hidden) expect(usage).not.toMatch(flag(option));
  });

  test.each(NAMES)('%s: the usage is under 40 lines of at most 100 columns', async (name) => {
    const { usage } = await declared(name);
    expect(usage.split('\n').length).toBeLessThan(40);
    expect(usage.split('\n').filter((l) => l.length > 100)).toEqual([]);
    expect(usage).toMatch(/^exit codes: /m);
  });

  test("the options kept for the project's tests are taken, and offered nowhere", async () => {
    expect((await declared('lab')).hidden.map(([o]) => o)).toEqual(['fault']);
    expect((await declared('pins')).hidden.map(([o]) => o)).toEqual(['api']);
    const pins = await lessonCheck(['pins', '--api', 'http://127.0.0.1:9']);
    expect(pins.exitCode, pins.stderr).toBe(0);
    for (const [args, hidden] of [
      [['lab', '--bogus'], '--fault'],
      [['pins', '--bogus'], '--api'],
    ] as const) {
      const run = await lessonCheck([...args]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain(`Unknown option '--bogus' for ${args[0]}: it takes `);
      expect(run.stderr).not.toContain(hidden);
    }
  });

  // issue 35: the help said the services stay stopped; the walk starts them again (walk/system-walk.ts putBack)
  test('--set-aside-leftovers says what the walk does afterwards: the services start again', async () => {
    const { usage } = await declared('walkthrough');
    const said = usage
      .slice(usage.indexOf('--set-aside-leftovers  '), usage.indexOf('\n  --only'))
      .replace(/\s+/g, ' ');
    expect(said).toMatch(/put back and the services started again/);
    expect(said).not.toMatch(/stay stopped/);
  });
});

describe('lesson-check CMD --help, CMD -h and help CMD', () => {
  test.each([
    [
      ['verify', '--help'],
      ['--target', '--format', '--inventory', '--list'],
    ],
    [
      ['grade', '-h'],
      ['--target', '--shard', '--watch'],
    ],
    [
      ['help', 'coach'],
      ['--once', '--target'],
    ],
    [
      ['machine', '--help'],
      ['--vm', '--release', '--keep', '--until'],
    ],
    [
      ['walkthrough', '--help'],
      ['--only', '--set-aside-leftovers'],
    ],
    [
      ['lab', '--only', 'R1', '--help'],
      ['--source', '--keep'],
    ],
  ])('%j prints that usage alone on stdout, exit 0', async (args, options) => {
    const run = await lessonCheck(args);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const name = args[0] === 'help' ? args[1]! : args[0]!;
    expect(run.stdout).toMatch(new RegExp(`^usage: lesson-check ${name} `));
    expect(linesOf(run.stdout).length).toBeLessThan(40);
    for (const option of options) expect(run.stdout).toMatch(flag(option.slice(2)));
    expect(run.stdout).toBe(renderUsage((await COMMANDS[name]!.load())[0]));
  });

  test.each(NAMES)('%s --help: exit 0, its own usage', async (name) => {
    const run = await lessonCheck([name, '--help']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: lesson-check ${name}\\b`));
  });
});

describe('lesson-check --help, and no command at all', () => {
  test.each([['--help'], ['-h'], ['help']])('%j lists the commands in one screen, exit 0', async (...args) => {
    const run = await lessonCheck(args);
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = linesOf(run.stdout);
    expect(lines.length).toBeLessThanOrEqual(30);
    for (const name of NAMES) expect(lines.some((l) => l.startsWith(`  ${name} `))).toBe(true);
    expect(run.stdout).not.toContain('run-suites');
    expect(run.stdout).toContain("see 'lesson-check COMMAND --help'");
    expect(run.stdout).toMatch(/^exit codes: 0 all passed, 1 checks failed, 2 /m);
    expect(run.stdout).toContain(join(ROOT, 'README.md'));
  });

  test('no command is a usage error: the same list, on stderr, exit 2', async () => {
    const run = await lessonCheck([]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe((await lessonCheck(['--help'])).stdout);
  });

  test('help for a command there is not: exit 2, in two lines', async () => {
    const run = await lessonCheck(['help', 'run-suites']);
    expect(run.exitCode).toBe(2);
    expect(linesOf(run.stderr)).toEqual(['lesson-check: unknown command: run-suites', "see 'lesson-check --help'"]);
  });
});

describe('lesson-check --version', () => {
  test.each([['--version'], ['-V']])('%j: the version and the lesson pins, exit 0', async (arg) => {
    const run = await lessonCheck([arg]);
    expect(run.exitCode, run.stderr).toBe(0);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(linesOf(run.stdout)[0]).toBe(`lesson-check ${version}`);
    for (const pinned of Object.values(lessonProfile().versions)) expect(run.stdout).toContain(pinned);
    expect(run.stdout).toContain('containerd 2.2.1');
  });
});

describe('a usage error', () => {
  test.each(NAMES)('%s --bogus: what is wrong and where the usage is, in two lines, exit 2', async (name) => {
    const run = await lessonCheck([name, '--bogus']);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    const lines = linesOf(run.stderr);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^lesson-check: Unknown option '--bogus' for ${name}: it takes `));
    expect(lines[1]).toBe(`see 'lesson-check ${name} --help'`);
  });
});

describe('the environment variables a user may set', () => {
  // set by lesson-check for its own child processes, never by a user
  const INTERNAL = ['LC_RUN_DIR', 'LC_SUITES_BUNDLE', 'LC_DECLARATIONS'];
  // the benchmark's and the bundle's own (README: Speed, The command line)
  const DEVELOPMENT = ['LC_TIMINGS', 'LC_DEBUG_BUNDLE'];

  /** Every LC_ variable the CLI's sources read. */
  function readVariables(): string[] {
    const files = [
      ...readdirSync(join(ROOT, 'helpers'), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(ROOT, 'helpers', f)),
      join(ROOT, 'bin', 'bundle.js'),
      join(ROOT, 'bin', 'lesson-check.js'),
    ];
    const read = files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/process\.env\.(LC_[A-Z_]+)/g)]);
    return [...new Set(read.map((m) => m[1]!))].sort();
  }

  test("each is named in a command's usage and in the README", async () => {
    const usages = (await Promise.all(NAMES.map(declared))).map((d) => d.usage).join('\n');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const variables = readVariables().filter((v) => !INTERNAL.includes(v));
    expect(variables).toContain('LC_SSH_CONFIG');
    for (const v of variables) {
      if (!DEVELOPMENT.includes(v)) expect(usages, `no usage names ${v}`).toMatch(new RegExp(`\\b${v}\\b`));
      expect(readme, `the README does not name ${v}`).toMatch(new RegExp(`\\b${v}\\b`));
    }
  });
});
