/**
 * What every command's options have in common: strict parsing of what a command declares (its
 * `…_COMMAND`, whose usage commands/usage.ts makes from the same declaration), where a flag the
 * command does not take is a usage error that names it, exit 2; the declarations several commands
 * share, and their validation.
 */
import { parseArgs } from 'node:util';
import { CATALOGUE } from '../checks/catalogue.ts';
import { visibleLine } from '../host/host-text.ts';
import { type SourceSpec, parseSource } from '../sources/source-spec.ts';
import type { ConsoleOptions } from '../run/run.ts';
import type { CommandSpec, OptionSpecs } from './usage.ts';

/** A command line the command cannot take: said in one line, then where its usage is, exit 2. */
export class UsageError extends Error {}

/** `spec`'s options, parsed strictly: unknown flags and missing values are usage errors. */
export function parseOptions<O extends OptionSpecs>(spec: CommandSpec<O>, args: string[]) {
  const command = spec.name;
  try {
    return parseArgs({ args, options: spec.options, strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^']*)'/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      // the options kept for the project's own tests are not offered
      const takes = Object.entries(spec.options)
        .filter(([, o]) => !o.hidden)
        .map(([name]) => `--${name}`);
      const what = takes.length ? `it takes ${takes.join(', ')}` : 'it takes no options';
      throw new UsageError(`Unknown option '${flag}' for ${command}: ${what}`);
    }
    throw new UsageError(`${command}: ${err.message}`);
  }
}

/** `command` takes no positional arguments. */
export function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length) throw new UsageError(`${command} takes no arguments: ${positionals.join(' ')}`);
}

export const REPORTS = {
  reports: { type: 'string', default: 'reports', arg: 'DIR', help: 'where the reports go (default: reports)' },
} as const;
export const PROFILE = {
  profile: {
    type: 'string',
    default: 'lesson',
    arg: 'lesson|FILE',
    help: "paths and pins: the lesson's (default: lesson) or a profile TOML file",
  },
} as const;
export const CONSOLE = {
  format: {
    type: 'string',
    default: 'pretty',
    arg: 'pretty|plain|json',
    help: 'symbols and colour (default: pretty), ASCII, or results.json alone',
  },
  quiet: { type: 'boolean', default: false, help: 'no progress: only the summary and the failures' },
  verbose: {
    type: 'boolean',
    default: false,
    help: 'each command as it starts, and its output (also LC_VERBOSE=1)',
  },
} as const;
const MIRROR = {
  mirror: {
    type: 'string',
    arg: 'URL',
    help: 'with --source github: the same paths from URL (https://, or loopback)',
  },
  'insecure-mirror': {
    type: 'boolean',
    default: false,
    help: 'take a plain http:// --mirror off loopback: anyone can swap its assets',
  },
  pin: {
    type: 'string',
    arg: 'P',
    help: "other versions than the lesson's, e.g. containerd=2.2.2,runc=1.4.1",
  },
} as const;
export const ONLY = {
  only: { type: 'string', arg: 'ID,ID', help: 'run only these checks (their IDs: docs/CHECKS.md)' },
} as const;

/** --source S, with what the command's `help` says of it, and the options that go with it. */
export function sourceOptions(help: string) {
  return { source: { type: 'string', arg: 'S', help }, ...MIRROR } as const;
}

/** --source/--mirror/--insecure-mirror/--pin as a source; `fallback` when --source was not given. */
export function sourceOption(
  values: { source?: string; mirror?: string; 'insecure-mirror'?: boolean; pin?: string },
  fallback: 'auto' | 'github',
): SourceSpec {
  try {
    return parseSource(values.source ?? fallback, {
      mirror: values.mirror,
      pins: values.pin,
      insecureMirror: values['insecure-mirror'],
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --only's check IDs, each one of the catalogue's. */
export function parseOnly(only: string | undefined): string[] | undefined {
  if (!only) return undefined;
  const ids = only
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = ids.filter((id) => !CATALOGUE.some((c) => c.id === id));
  if (unknown.length)
    throw new UsageError(
      `unknown check ID in --only: ${unknown.join(', ')} (known: ${CATALOGUE.map((c) => c.id).join(' ')})`,
    );
  return ids;
}

/** `--until ID` (with --keep): the checks a walk goes as far as, in the walk's order, or
 * undefined (the whole lesson). The walk stops after that check's step and judgement. */
export function parseUntil(until: string | undefined, keep: boolean, what: string): string[] | undefined {
  if (!until) return undefined;
  const id = until.toUpperCase();
  const at = CATALOGUE.findIndex((c) => c.id === id);
  if (at < 0) throw new UsageError(`--until ${until}: not a check ID (${CATALOGUE.map((c) => c.id).join(' ')})`);
  if (!keep) throw new UsageError(`--until goes with --keep (${what} left unfinished at that check)`);
  return CATALOGUE.slice(0, at + 1).map((c) => c.id);
}

export type ConsoleOut = ConsoleOptions & { info: (line: string) => void };

/** The console options, validated, and where informational lines go: stderr when stdout carries
 * JSON, nowhere with --quiet. */
export function consoleOptions(values: { format: string; quiet: boolean; verbose?: boolean }): ConsoleOut {
  const { format, quiet } = values;
  if (!['pretty', 'plain', 'json'].includes(format))
    throw new UsageError(`unknown --format ${format} (pretty, plain or json)`);
  // the runs' own processes (the suites' worker) see it too
  if (values.verbose) process.env.LC_VERBOSE = '1';
  const info = (line: string) => {
    if (quiet) return;
    // one line, which may quote a host (its name, what it said): shown through host-text.ts
    (format === 'json' ? process.stderr : process.stdout).write(`${visibleLine(line)}\n`);
  };
  return { format, quiet, info };
}
