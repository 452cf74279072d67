/**
 * lesson-check's command line.
 *   lab     builds a private sandbox, walks the lesson on it through the stage suites, writes the
 *           reports and tears the sandbox down (on success, failure and Ctrl-C alike)
 *   verify  inspects a finished host without changing it
 *   grade   verify, plus a score and a hint per failure that points at the lesson
 * The suites run in vitest, started in this process (a fleet's hosts: one child each); this
 * process owns set-up, teardown and signals. Each command lives in a file of its own
 * (helpers/commands/), declaring its options and its usage in one place (usage.ts); this file
 * keeps the list of commands, the dispatch, --help and --version, and the mapping of errors to
 * exit codes.
 * Exit codes: 0 all passed, 1 checks failed, 2 usage or setup error, 128 + the signal's number
 * when ended by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT).
 */
import { UsageError } from './options.ts';
import { visible } from '../host/host-text.ts';
import { InventoryError } from '../inventory/inventory.ts';
import { ProfileError } from '../profile.ts';
import { internalErrorLine } from './internal-error.ts';
import { type CommandSpec, renderCommandList, renderUsage, renderVersion } from './usage.ts';

type Run = (args: string[]) => Promise<number>;

interface Command {
  /** One line, in the list of commands. */
  summary: string;
  /** Its module, loaded only when the command runs or shows its usage: vitest and the lab's sources are big. */
  load: () => Promise<[CommandSpec, Run]>;
}

/** The commands a user runs, in the order the list shows them. */
export const COMMANDS: Record<string, Command> = {
  lab: {
    summary: 'build a private sandbox, walk the containerd lesson on it end to end, tear it down',
    load: async () => {
      const { LAB_COMMAND, labCommand } = await import('./lab.ts');
      return [LAB_COMMAND, labCommand];
    },
  },
  verify: {
    summary: 'check a finished host (or a class over ssh) as the lesson left it, changing nothing',
    load: async () => {
      const { VERIFY_COMMAND, inspectCommand } = await import('./inspect.ts');
      return [VERIFY_COMMAND, (args) => inspectCommand('verify', args)];
    },
  },
  grade: {
    summary: 'verify, with a score and a hint per failure; a class: a gradebook',
    load: async () => {
      const { GRADE_COMMAND, inspectCommand } = await import('./inspect.ts');
      return [GRADE_COMMAND, (args) => inspectCommand('grade', args)];
    },
  },
  coach: {
    summary: 'beside a student: where they are and what the lesson expects next, live',
    load: async () => {
      const { COACH_COMMAND, coachCommand } = await import('./coach.ts');
      return [COACH_COMMAND, coachCommand];
    },
  },
  walkthrough: {
    summary: "the lesson's steps on THIS host, with systemd (a throwaway VM)",
    load: async () => {
      const { WALKTHROUGH_COMMAND, walkthroughCommand } = await import('./walkthrough.ts');
      return [WALKTHROUGH_COMMAND, walkthroughCommand];
    },
  },
  machine: {
    summary: 'the walkthrough in a throwaway systemd machine or QEMU VM, torn down afterwards',
    load: async () => {
      const { MACHINE_COMMAND, machineCommand } = await import('./machine.ts');
      return [MACHINE_COMMAND, machineCommand];
    },
  },
  hostkeys: {
    summary: "a class's SSH host keys, for known_hosts before its first grade",
    load: async () => {
      const { HOSTKEYS_COMMAND, hostkeysCommand } = await import('./hostkeys.ts');
      return [HOSTKEYS_COMMAND, hostkeysCommand];
    },
  },
  merge: {
    summary: "join several runs' (shards') results into one set of reports",
    load: async () => {
      const { MERGE_COMMAND, mergeCommand } = await import('./merge.ts');
      return [MERGE_COMMAND, mergeCommand];
    },
  },
  fetch: {
    summary: "gather the lesson's release assets into a folder, for a host without network",
    load: async () => {
      const { FETCH_COMMAND, fetchCommand } = await import('./fetch.ts');
      return [FETCH_COMMAND, fetchCommand];
    },
  },
  pins: {
    summary: "the lesson's pins as --pin takes them, or their newest patch releases",
    load: async () => {
      const { PINS_COMMAND, pinsCommand } = await import('./pins.ts');
      return [PINS_COMMAND, pinsCommand];
    },
  },
  profile: {
    summary: "the lesson's profile as commented TOML, to start a host's own from",
    load: async () => {
      const { PROFILE_COMMAND, profileCommand } = await import('./profile.ts');
      return [PROFILE_COMMAND, profileCommand];
    },
  },
  clean: {
    summary: 'remove what killed runs left on this host',
    load: async () => {
      const { CLEAN_COMMAND, cleanCommand } = await import('./clean.ts');
      return [CLEAN_COMMAND, cleanCommand];
    },
  },
};

/** The vitest child of one host of a fleet (helpers/suite-run/runner.ts): no usage, never listed. */
async function runSuitesCommand(): Promise<number> {
  const { runSuitesHere } = await import('../suite-run/suite-runner.ts');
  return runSuitesHere();
}

const HELP = ['--help', '-h'];

function commandList(): string {
  return renderCommandList(Object.entries(COMMANDS).map(([name, c]) => [name, c.summary]));
}

/** `name`'s entry, or a usage error that says there is none. */
function commandNamed(name: string): Command {
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command: ${name}`);
  return COMMANDS[name]!;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // the command whose usage a usage error points at, once it is known to be one
  let known: string | undefined;
  try {
    if (command === undefined) {
      // no command is a usage error: a script that lost its argument must not pass
      console.error(commandList());
      return 2;
    }
    if (command === '--version' || command === '-V') {
      console.log(renderVersion());
      return 0;
    }
    if (command === 'help' || HELP.includes(command)) {
      const [topic] = rest;
      if (topic === undefined || topic.startsWith('-')) console.log(commandList());
      else console.log(renderUsage((await commandNamed(topic).load())[0]));
      return 0;
    }
    if (command === 'run-suites') return await runSuitesCommand();
    const [spec, run] = await commandNamed(command).load();
    known = command;
    // `CMD --help` wins over whatever else is given, up to a `--` that ends the options
    const end = rest.indexOf('--');
    if ((end < 0 ? rest : rest.slice(0, end)).some((a) => HELP.includes(a))) {
      console.log(renderUsage(spec));
      return 0;
    }
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(visible(`lesson-check: ${e.message}`));
      console.error(`see 'lesson-check ${known ? `${known} ` : ''}--help'`);
      return 2;
    }
    if (e instanceof InventoryError) {
      console.error(visible(`lesson-check: bad inventory: ${e.message}`));
      return 2;
    }
    if (e instanceof ProfileError) {
      console.error(visible(`lesson-check: bad profile: ${e.message}`));
      return 2;
    }
    // anything else is lesson-check's own bug: exit 2, never 1 (the code for "checks failed")
    console.error(visible(internalErrorLine(e)));
    return 2;
  }
}
