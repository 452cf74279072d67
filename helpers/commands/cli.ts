/**
 * lesson-check's command line.
 *   lab     builds a private sandbox, walks the lesson on it through the stage suites, writes the
 *           reports and tears the sandbox down (on success, failure and Ctrl-C alike)
 *   verify  inspects a finished host without changing it
 *   grade   verify, plus a score and a hint per failure that points at the lesson
 * The suites run in vitest, started in this process (a fleet's hosts: one child each); this
 * process owns set-up, teardown and signals. Each command lives in a file of its own
 * (helpers/commands/), declaring the options it takes; this file keeps the usage, the dispatch
 * and the mapping of errors to exit codes.
 * Exit codes: 0 all passed, 1 checks failed, 2 usage or setup error, 128 + the signal's number
 * when ended by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT).
 */
import { UsageError } from './options.ts';
import { visible } from '../host-text.ts';
import { InventoryError } from '../inventory.ts';
import { ProfileError } from '../profile.ts';
import { internalErrorLine } from './internal-error.ts';

const USAGE = `usage: lesson-check lab [--source auto|github|go|apt|dir:DIR] [--mirror URL] [--pin P] [--reports DIR]
                        [--keep [--until ID]]
       lesson-check lab --down [--profile FILE]
       lesson-check verify [--profile lesson|FILE] [--reports DIR] [--only ID,ID]
       lesson-check grade  [--profile lesson|FILE] [--reports DIR] [--only ID,ID]
       lesson-check grade  --inventory PATH | --target ssh://[user@]host[:port] …
                           [--limit PATTERN] [--parallel N] [--host-timeout S] [--shard i/n]
                           [--reports DIR] [--watch]
                           [--vault-password-file FILE] [--inventory-reader auto|ansible|built-in]
       lesson-check hostkeys --inventory PATH | --target ssh://[user@]host[:port] … [--limit PATTERN]
       lesson-check merge DIR… [--reports OUT]
       lesson-check verify --list
       lesson-check fetch --to DIR [--source github|go] [--mirror URL] [--pin P]
       lesson-check walkthrough --yes [--source github|go|dir:DIR] [--mirror URL] [--pin P]
                                [--set-aside-leftovers] [--reports DIR]
       lesson-check machine [--vm [--release bookworm|trixie]] [--source github|go|dir:DIR]
                            [--reports DIR] [--keep [--until ID]]
       lesson-check machine --down
       lesson-check coach [--profile lesson|FILE] [--target ssh://[user@]host[:port]] [--once] [--reports DIR]
       lesson-check clean
       lesson-check pins [--newest-patch]
       lesson-check profile > my.toml

  lab           build a private sandbox, walk the containerd lesson on it end to end, tear it down
  verify        check a finished host as the lesson left it, changing nothing
  grade         verify, with a score and a hint per failure
  coach         beside a student walking the lesson: the sections done, where they are and
                what the lesson expects next, re-checked the moment the host changes (read-only,
                as verify); --once: one look, verify's exit codes; a log of every check's changes
                in DIR/coach-progress.jsonl
  --profile     'lesson' (the lesson's real paths and pins; the default) or a profile TOML file,
                such as the one \`lab --keep\` prints
  --reports DIR where the reports go (default: reports/): junit.xml, results.json,
                summary.md (also appended to $GITHUB_STEP_SUMMARY), report.html, grade.json
  --only IDS    run only these checks (comma-separated IDs)
  --watch       with a class: after the first round, the live class board (host × section),
                each host checked again when it changes; report.html rewritten in place
                (it reloads itself); Ctrl-C ends it and leaves the final reports
  --target URL  a host to check over ssh (repeatable): ssh://[user@]host[:port]; the OpenSSH
                client's own config, agent and known_hosts apply; not root: sudo -n
  --inventory P an Ansible inventory (file, folder or script), read by ansible-inventory when it
                is on PATH (plugins, group_vars/host_vars, vaults), else by the built-in reader
                (static INI and YAML, with group_vars/host_vars): ansible_host, ansible_user,
                ansible_port, ansible_ssh_private_key_file, ansible_ssh_common_args/_extra_args,
                ansible_become(_user), and lesson_check_profile (a profile file here)
  --limit P     hosts or groups to check, Ansible's patterns (globs, ~regex, ',' or ':', '&'
                intersects, '!' excludes, group[0:2]); a part that names nothing is an error
  --vault-password-file F   passed to Ansible, for vaulted inventory variables
  --inventory-reader R      auto (the default), ansible or built-in
  --parallel N  hosts checked at a time (default 4)
  --host-timeout S  the most one host may take, in seconds (default 600): a host past it has its
                checks stopped and reported as errors that say so; the others are not held up
  --shard i/n   check every n-th host by name, starting with the i-th (split a class over runners)
  hostkeys      a class's SSH host keys, before its first grade (in BatchMode a host whose key
                known_hosts lacks is unreachable): the known_hosts lines on stdout
                (>> ~/.ssh/known_hosts), each host's fingerprints on stderr, to compare with the
                VMs' consoles; hostkeys --help says more
  merge         join the results.json of several runs (shards) into one set of reports
  --list        list the checks: ID, stage, title
  --format F    the console form: pretty (symbols; colour on a terminal unless NO_COLOR),
                plain (ASCII, no colour), json (results.json on stdout, nothing else)
  --quiet       no progress: only the summary and the failures
  --verbose     everything as it happens: each command the run starts and its output, the
                builds' and downloads' own (also LC_VERBOSE=1); the reports are the same
  --source S    where the lesson's binaries come from: github (the lesson's release assets,
                checksums verified), go (the same assets built here from the releases' Go
                modules, through Go's own GOPROXY), apt (Debian's packages: other versions, no
                nerdctl), dir:DIR (a folder of release assets, for hosts without network);
                auto, the lab's default: github if its cache holds the assets (the default never
                downloads from github.com unasked), else go, else apt, saying why
  --mirror URL  with --source github: fetch the same paths from URL instead of https://github.com;
                https://, or plain http:// on loopback only (the checksums come from the mirror too)
  --insecure-mirror  take a plain http:// mirror elsewhere all the same: anyone on the path can
                swap the assets and their checksums alike
  --pin P       with --source github, go or dir: other versions than the lesson's pins,
                e.g. containerd=2.2.2,runc=1.4.1 (names: containerd, runc, nerdctl, cniPlugins)
  walkthrough   the lesson's steps on THIS host at the lesson's paths, with systemd, from the
                release assets, asserting every state before and after each step; it changes
                system paths, so it runs only with --yes (or CI=true), on a host without the
                lesson's files (an ephemeral VM)
  --set-aside-leftovers  on a throwaway VM that already has a container runtime (GitHub's
                runners: Docker, containerd.io, podman): stop its services and rename any runc on
                systemd's default PATH for the walk, so that R1 can be observed; the runc
                binaries are put back afterwards, the services stay stopped
  machine       the walkthrough inside a throwaway Debian machine with systemd as init
                (systemd-nspawn, its own network namespace and sshd), torn down afterwards;
                --vm: a QEMU VM with its own kernel instead (Debian 13, or --release bookworm;
                cgroup v2), reached over a loopback port; --keep leaves it up (--until ID:
                unfinished after that check) and says how to reach it over ssh; --down removes
                every machine left up
  pins          the lesson's pins as --pin takes them; --newest-patch: each moved to the newest
                patch release of its minor version (GitHub's tags; GH_TOKEN lifts the rate limit)
  clean         remove what verify or grade runs that were killed (SIGKILL, a power cut) left on
                this host; every run does it as it starts, and never touches a live run's
  fetch         gather the github (default) or go source's assets (checksums verified; with go,
                podinfo too) into DIR, for \`lab --source dir:DIR\` on a host without network
  --keep        leave the lab up afterwards and print its profile file; --until ID: walked
                only as far as that check (a lab left mid-lesson, where a student would be)
  --down        remove every lab left up (by --keep or by a killed run), or with --profile
                just the lab that profile file belongs to`;

/** Each command's module, loaded only when run: vitest and the lab's sources are big. */
const COMMANDS: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
  lab: async () => (await import('./lab.ts')).labCommand,
  verify: async () => {
    const { inspectCommand } = await import('./inspect.ts');
    return (args) => inspectCommand('verify', args);
  },
  grade: async () => {
    const { inspectCommand } = await import('./inspect.ts');
    return (args) => inspectCommand('grade', args);
  },
  merge: async () => (await import('./merge.ts')).mergeCommand,
  hostkeys: async () => (await import('./hostkeys.ts')).hostkeysCommand,
  fetch: async () => (await import('./fetch.ts')).fetchCommand,
  walkthrough: async () => (await import('./walkthrough.ts')).walkthroughCommand,
  machine: async () => (await import('./machine.ts')).machineCommand,
  clean: async () => (await import('./clean.ts')).cleanCommand,
  coach: async () => (await import('./coach.ts')).coachCommand,
  pins: async () => (await import('./pins.ts')).pinsCommand,
  profile: async () => (await import('./profile.ts')).profileCommand,
  // internal: the vitest child of one host of a fleet (helpers/suite-run/runner.ts)
  'run-suites': async () => {
    const { runSuitesHere } = await import('../suite-run/suite-runner.ts');
    return () => runSuitesHere();
  },
};

export async function main(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE);
      return 0;
    }
    const load = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!load) throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
    return await (
      await load()
    )(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${visible(`lesson-check: ${e.message}`)}\n\n${e.usage ?? USAGE}`);
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
