/**
 * What `lesson-check CMD --help` prints, made from the declaration the command's parser takes (each
 * command module's `…_COMMAND`, shared options in commands/options.ts): the synopsis, a paragraph,
 * one line per option, what the command writes, its exit codes and the environment variables it
 * reads; and the list of commands, and --version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { lessonProfile } from '../profile.ts';
import { ROOT } from '../util/root.ts';

type ParserOption = NonNullable<ParseArgsConfig['options']>[string];

/** One option as parseArgs takes it (parseArgs ignores the rest), and what the usage says of it. */
export type OptionSpec = ParserOption & {
  /** The value's placeholder: `DIR`, `pretty|plain|json`. */
  arg?: string;
  /** One line: what it does, and its default when it has one. */
  help: string;
  /** Taken for the project's own tests (a fault to build in, a stand-in API): never shown. */
  hidden?: boolean;
};

export type OptionSpecs = Record<string, OptionSpec>;

/** A command: its options, for the parser, and its usage. */
export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  name: string;
  /** Each form of its command line, after `lesson-check `. */
  synopsis: string[];
  /** One paragraph: what it does. */
  about: string;
  options: O;
  writes: string;
  exits: string;
  /** The environment variables a user may set that it reads: name, meaning. */
  env: Array<[string, string]>;
}

/** A command's declaration, its option types kept for parseArgs's typing. */
export function declareCommand<O extends OptionSpecs>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** The exit codes of the commands that run checks. */
export const CHECK_EXITS =
  '0 all passed, 1 checks failed, 2 usage, setup or internal error, 128+N ended by signal N (130: Ctrl-C)';

const env = (name: string, meaning: string): [string, string] => [name, meaning];

/** The environment variables a user may set, as the usages say them (LC_RUN_DIR, LC_SUITES_BUNDLE
 * and LC_DECLARATIONS are lesson-check's own, set for its child processes). */
export const ENV = {
  ssh: env('LC_SSH_CONFIG', 'an ssh_config to use instead of ~/.ssh/config (the hosts over ssh)'),
  sshRunner: env('LC_SSH_RUNNER=0', 'an ssh session per command, not one per host (docs/UNTRUSTED-HOSTS.md)'),
  console: env('LC_VERBOSE=1, NO_COLOR', 'as --verbose; no colour on a terminal'),
  noColor: env('NO_COLOR', 'no colour on a terminal'),
  stepSummary: env('GITHUB_STEP_SUMMARY', 'a file summary.md is appended to (GitHub Actions sets it)'),
  githubCache: env('LC_GITHUB_CACHE_DIR', "the github source's cache (default /var/cache/lesson-check/github)"),
  goCache: env('LC_GO_CACHE_DIR', "the go source's builds (default /var/cache/lesson-check/go)"),
  go: env('GO, GOPROXY', 'the go that --source go builds with (default: go on PATH), its proxy'),
  aptCache: env('LC_CACHE_DIR', "the apt source's cache and the lab's registry (default …/lesson-check/apt)"),
  labs: env('LC_LABS_ROOT', 'where labs are built (default /var/lib/lesson-check/labs)'),
  machines: env('LC_MACHINES_ROOT', 'where machines are made (default /var/lib/lesson-check/machines)'),
  machineCache: env('LC_MACHINE_CACHE_DIR', "the machines' Debian rootfs and VM images (default …/machine)"),
  debianMirror: env('LC_DEBIAN_MIRROR', "debootstrap's Debian mirror (default http://deb.debian.org/debian)"),
  vmAccel: env('LC_VM_ACCEL=tcg', 'with --vm: QEMU emulates (TCG) even where KVM works'),
  ci: env('CI=true', 'as --yes'),
  ghToken: env('GH_TOKEN, GITHUB_TOKEN', "a GitHub token: lifts the API's rate limit"),
  bundleCache: env('LC_BUNDLE_CACHE_DIR', "where the CLI's bundle is kept (default: the package's, or ~/.cache)"),
};

/** The option every command takes, which cli.ts answers before the command's parser sees it. */
export const HELP_OPTION = '-h, --help';

const WIDTH = 100;

/** `lesson-check CMD --help`. */
export function renderUsage(spec: CommandSpec): string {
  const hang = ' '.repeat(`usage: lesson-check ${spec.name} `.length);
  const options = Object.entries(spec.options)
    .filter(([, o]) => !o.hidden)
    .map(([name, o]): [string, string] => [
      `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`,
      o.help,
    ]);
  return [
    ...spec.synopsis.flatMap((form, i) => wrap(i ? '       ' : 'usage: ', `lesson-check ${form}`, hang)),
    '',
    ...wrap('', spec.about, ''),
    '',
    'options:',
    ...table([...options, [HELP_OPTION, `this text (also: lesson-check help ${spec.name})`]]),
    '',
    ...wrap('writes: ', spec.writes, '        '),
    ...wrap('exit codes: ', spec.exits, '            '),
    ...(spec.env.length ? ['environment:', ...table(spec.env)] : []),
  ].join('\n');
}

/** Two columns, indented; a name too long for the first pushes its line's text along. */
function table(rows: Array<[string, string]>): string[] {
  const col = Math.min(Math.max(...rows.map(([name]) => name.length)) + 4, 30);
  return rows.flatMap(([name, text]) => {
    const left = `  ${name}`;
    return wrap(left.length + 2 > col ? `${left}  ` : left.padEnd(col), text, ' '.repeat(col));
  });
}

/** `lesson-check --help`: every command in a line, then where to read more. */
export function renderCommandList(commands: Array<[string, string]>): string {
  return [
    'usage: lesson-check COMMAND [OPTIONS]',
    '',
    'The conformance suite of the containerd lesson of Kubernetes the (Very) Hard Way. Commands:',
    ...table(commands),
    '',
    "see 'lesson-check COMMAND --help' (or lesson-check help COMMAND): a command's options and exit codes",
    "lesson-check --version: this version and the lesson's pins",
    ...wrap('exit codes: ', CHECK_EXITS, '            '),
    `docs: ${join(ROOT, 'README.md')}; the checks: ${join(ROOT, 'docs', 'CHECKS.md')}`,
  ].join('\n');
}

/** `lesson-check --version`: the package's version, and the versions the lesson pins. */
export function renderVersion(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const names: Record<string, string> = { cniPlugins: 'CNI plugins' };
  const pins = Object.entries(lessonProfile().versions).map(([k, v]) => `${names[k] ?? k} ${v}`);
  return `lesson-check ${version}\nthe lesson's pins: ${pins.join(', ')}`;
}

/** `head` then `text`, in lines of at most WIDTH broken at spaces outside brackets and backquotes,
 * the next lines indented by `indent` (`[--keep [--until ID]]` and a quoted command stay whole). */
function wrap(head: string, text: string, indent: string): string[] {
  const words: string[] = [];
  let word = '';
  let depth = 0;
  let quoted = false;
  for (const ch of text) {
    if (ch === ' ' && depth === 0 && !quoted) {
      if (word) words.push(word);
      word = '';
      continue;
    }
    if (ch === '`') quoted = !quoted;
    else if (ch === '[') depth++;
    else if (ch === ']' && depth > 0) depth--;
    word += ch;
  }
  if (word) words.push(word);
  const lines: string[] = [];
  let line = head;
  let fresh = true;
  for (const w of words) {
    if (!fresh && line.length + 1 + w.length > WIDTH) {
      lines.push(line);
      line = indent + w;
    } else line = fresh ? line + w : `${line} ${w}`;
    fresh = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}
