/**
 * What every command's options have in common: strict parsing (a flag the command does not take
 * is a usage error that names it, exit 2), the option declarations several commands share, and
 * their validation.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CATALOGUE } from '../catalogue.ts';
import { visibleLine } from '../host-text.ts';
import { type SourceSpec, parseSource } from '../sources/source-spec.ts';
import type { ConsoleOptions } from '../run.ts';

/** A command line the command cannot take: said with the usage, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text to show; default: the whole CLI's. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `command`'s options, parsed strictly: unknown flags and missing values are usage errors. */
export function parseOptions<O extends Options>(command: string, args: string[], options: O, usage?: string) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^']*)'/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      const takes = Object.keys(options).map((o) => `--${o}`);
      const what = takes.length ? `it takes ${takes.join(', ')}` : 'it takes no options';
      throw new UsageError(`Unknown option '${flag}' for ${command}: ${what}`, usage);
    }
    throw new UsageError(`${command}: ${err.message}`, usage);
  }
}

/** `command` takes no positional arguments. */
export function noPositionals(command: string, positionals: string[], usage?: string): void {
  if (positionals.length) throw new UsageError(`${command} takes no arguments: ${positionals.join(' ')}`, usage);
}

export const REPORTS = { reports: { type: 'string', default: 'reports' } } as const;
export const PROFILE = { profile: { type: 'string', default: 'lesson' } } as const;
export const CONSOLE = {
  format: { type: 'string', default: 'pretty' },
  quiet: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
} as const;
export const SOURCE = {
  source: { type: 'string' },
  mirror: { type: 'string' },
  'insecure-mirror': { type: 'boolean', default: false },
  pin: { type: 'string' },
} as const;
export const ONLY = { only: { type: 'string' } } as const;

/** --source/--mirror/--insecure-mirror/--pin as a source; `fallback` when --source was not given. */
export function sourceOption(
  values: { source?: string; mirror?: string; 'insecure-mirror'?: boolean; pin?: string },
  fallback: 'auto' | 'github',
  usage?: string,
): SourceSpec {
  try {
    return parseSource(values.source ?? fallback, {
      mirror: values.mirror,
      pins: values.pin,
      insecureMirror: values['insecure-mirror'],
    });
  } catch (e) {
    throw new UsageError((e as Error).message, usage);
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
export function parseUntil(
  until: string | undefined,
  keep: boolean,
  what: string,
  usage?: string,
): string[] | undefined {
  if (!until) return undefined;
  const id = until.toUpperCase();
  const at = CATALOGUE.findIndex((c) => c.id === id);
  if (at < 0) throw new UsageError(`--until ${until}: not a check ID (${CATALOGUE.map((c) => c.id).join(' ')})`, usage);
  if (!keep) throw new UsageError(`--until goes with --keep (${what} left unfinished at that check)`, usage);
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
