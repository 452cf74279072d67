/**
 * verify and grade over the hosts of a class (--target URLs, an --inventory): each host in a
 * child process of its own, several at once, then merged reports and a gradebook; exit 1 when
 * any check failed on any host.
 */
import type { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ClassBoard } from '../coach/class-board.ts';
import { redraw } from '../coach/screen.ts';
import { type FleetOptions, type InternalError, checkFleet, fleetWatcher, unreachable } from '../class/fleet.ts';
import { writeErrorDetails } from './internal-error.ts';
import { safeJson, visible, visibleLine } from '../host/host-text.ts';
import {
  INVENTORY_READERS,
  InventoryError,
  type InventoryReader,
  type TargetHost,
  limitTargets,
  readInventory,
  shardHosts,
  targetsFromUrls,
} from '../inventory/inventory.ts';
import { loadProfile } from '../profile.ts';
import { exitCodeOf } from '../reporters/model.ts';
import { consoleStyle } from '../reporters/console.ts';
import type { RunReport } from '../reporters/model.ts';
import { tryWriteReports, writeReports } from '../reporters/write.ts';
import type { Mode } from '../run/run.ts';
import { trapSignals } from '../run/signals.ts';
import { summarizeClass } from './end-of-run.ts';
import { type ConsoleOut, UsageError } from './options.ts';

/** How long one host of a class may take by default: verify takes seconds on a lab and about a
 * minute on a slow VM; a host that stalls on purpose is stopped here. */
const DEFAULT_HOST_TIMEOUT_S = 600;

/** Hosts checked at a time by default, each by a child process of its own. */
const DEFAULT_PARALLEL = 4;

/** The options of verify and grade that choose and pace a class's hosts (hostkeys takes the first five). */
export const FLEET = {
  target: {
    type: 'string' as const,
    multiple: true as const,
    default: [] as string[],
    arg: 'URL',
    help: 'ssh://[user@]host[:port] (repeatable); as non-root, sudo -n',
  },
  inventory: {
    type: 'string' as const,
    arg: 'PATH',
    help: 'an Ansible inventory (file, folder or script): its hosts and ssh vars',
  },
  'inventory-reader': {
    type: 'string' as const,
    arg: 'R',
    help: 'auto (the default: ansible-inventory if on PATH), ansible or built-in',
  },
  'vault-password-file': {
    type: 'string' as const,
    arg: 'FILE',
    help: 'passed to Ansible, for vaulted inventory variables',
  },
  limit: {
    type: 'string' as const,
    arg: 'PATTERN',
    help: "hosts or groups, as Ansible's patterns; a part naming none is an error",
  },
  parallel: {
    type: 'string' as const,
    arg: 'N',
    help: `hosts checked at a time (default ${DEFAULT_PARALLEL})`,
  },
  'host-timeout': {
    type: 'string' as const,
    arg: 'S',
    help: `the most one host may take, in seconds (default ${DEFAULT_HOST_TIMEOUT_S})`,
  },
  shard: {
    type: 'string' as const,
    arg: 'i/n',
    help: 'every n-th host by name from the i-th (a class over several runners)',
  },
  watch: {
    type: 'boolean' as const,
    default: false,
    help: 'after the first round, each host checked again as it changes, live',
  },
};

interface FleetValues {
  target: string[];
  inventory?: string;
  'inventory-reader'?: string;
  'vault-password-file'?: string;
  limit?: string;
  parallel?: string;
  'host-timeout'?: string;
  shard?: string;
  watch: boolean;
  profile: string;
  reports: string;
}

/** The first class option given without a class's hosts, as the flag, or undefined. */
export function fleetOptionsWithoutHosts(values: Omit<FleetValues, 'profile' | 'reports'>): string | undefined {
  // one host is coached, not watched: lesson-check coach
  if (values.watch) return '--watch';
  const given = (
    ['limit', 'parallel', 'host-timeout', 'shard', 'inventory-reader', 'vault-password-file'] as const
  ).find((k) => values[k] !== undefined);
  return given && `--${given}`;
}

export async function fleetCommand(
  mode: Extract<Mode, 'verify' | 'grade'>,
  opts: FleetValues,
  out: ConsoleOut,
  only: string[] | undefined,
): Promise<number> {
  const { hosts: limited, inventory } = await classHosts(opts);
  if (inventory) out.info(`lesson-check: ${inventory}`);
  if (limited.length === 0)
    throw new UsageError(`no hosts to check${opts.limit ? ` (after --limit ${opts.limit})` : ''}`);
  const hosts = shardHosts(limited, opts.shard);
  const parallel = Number(opts.parallel ?? String(DEFAULT_PARALLEL));
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UsageError(`--parallel ${opts.parallel}: a whole number ≥ 1`);
  const hostTimeout = Number(opts['host-timeout'] ?? String(DEFAULT_HOST_TIMEOUT_S));
  if (!Number.isFinite(hostTimeout) || hostTimeout <= 0)
    throw new UsageError(`--host-timeout ${opts['host-timeout']}: seconds, a number > 0`);
  const defaultProfile = opts.profile;
  if (defaultProfile !== 'lesson') loadProfile(defaultProfile);
  const reportsDir = resolve(opts.reports);
  const children = new Set<ReturnType<typeof spawn>>();
  const watching = new AbortController();
  let watcher: Awaited<ReturnType<typeof fleetWatcher>> | undefined;
  // a watched class rewrites its reports at every change: none of them is a CI step's summary
  if (opts.watch) delete process.env.GITHUB_STEP_SUMMARY;
  const signals = trapSignals((sig) => {
    watching.abort();
    console.error(
      `\nlesson-check: ${sig} received: no new host starts; stopping the running ones, ` +
        'then writing the reports of the hosts that finished',
    );
    // each host's child cancels its checks as on Ctrl-C (their probes undo themselves); this process
    // then sweeps each host
    for (const c of children) c.kill('SIGINT');
  });
  try {
    if (hosts.length === 0) {
      // a class smaller than its shards: this shard has nothing to do, and that is no failure
      await writeReports([], reportsDir);
      out.info(`lesson-check: shard ${opts.shard} of ${limited.length} hosts has none to check: empty reports`);
      if (out.format === 'json') process.stdout.write(`${safeJson({ runs: [] })}\n`);
      return 0;
    }
    const pace = `${Math.min(parallel, hosts.length)} at a time`;
    out.info(`lesson-check: ${mode} ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${pace}`);
    const interrupted = () => signals.signalled() !== undefined;
    const fleetOptions: FleetOptions = {
      mode,
      hosts,
      defaultProfile,
      reportsDir,
      only,
      parallel,
      hostTimeoutMs: hostTimeout * 1000,
      info: out.info,
      interrupted,
      stop: watching.signal,
      internalErrors: [],
    };
    // watching: each host's state as it was before its first check, for the watch to compare
    watcher = opts.watch ? await fleetWatcher(fleetOptions, watching.signal) : undefined;
    const reports = await checkFleet(fleetOptions, children);
    if (inventory) for (const r of reports) r.inventory = inventory;
    if (watcher && !signals.signalled())
      await watchClass(fleetOptions.reportsDir, watcher, reports, children, inventory);
    const writeError = reports.length ? await tryWriteReports(reports, reportsDir) : undefined;
    if (out.format === 'json') process.stdout.write(`${safeJson({ runs: reports })}\n`);
    else summarizeClass(reports, reportsDir);
    if (signals.signalled()) return signals.exitCode();
    if (fleetOptions.internalErrors.length) {
      const details = writeInternalErrors(fleetOptions.internalErrors, reportsDir);
      const [first] = fleetOptions.internalErrors;
      console.error(
        visibleLine(
          `lesson-check: internal error (a bug) while checking ${fleetOptions.internalErrors.length} host(s), ` +
            `the first ${first!.host}: ${first!.message.split('\n')[0]}; the other hosts were checked; ` +
            `details: ${details}`,
        ),
      );
      return 2;
    }
    if (writeError) {
      console.error(visible(`lesson-check: ${writeError}`));
      return 2;
    }
    // not one host reached: the key, known_hosts or inventory is wrong, not every student's work
    const why = reports.map(unreachable);
    if (reports.length && why.every(Boolean)) {
      console.error(
        visibleLine(
          `lesson-check: no host could be reached (${reports.length} of ${reports.length}; the first: ${why[0]}): ` +
            'check the SSH key, known_hosts and the inventory',
        ),
      );
      return 2;
    }
    return exitCodeOf(reports);
  } finally {
    await watcher?.close();
    signals.release();
  }
}

/**
 * The class's hosts: the --target ones and the inventory's, --limit applied to each (by Ansible
 * when it reads the inventory). A part of --limit that names nothing is a typo, refused in one line.
 */
export async function classHosts(
  opts: Pick<FleetValues, 'target' | 'inventory' | 'inventory-reader' | 'vault-password-file' | 'limit'>,
): Promise<{ hosts: TargetHost[]; inventory?: string }> {
  const reader = opts['inventory-reader'] ?? 'auto';
  if (!(INVENTORY_READERS as readonly string[]).includes(reader))
    throw new UsageError(`--inventory-reader ${reader}: one of ${INVENTORY_READERS.join(', ')}`);
  if (!opts.inventory && (opts['inventory-reader'] || opts['vault-password-file']))
    throw new UsageError(
      `--${opts['inventory-reader'] ? 'inventory-reader' : 'vault-password-file'} goes with --inventory`,
    );
  let fromUrls: ReturnType<typeof limitTargets>;
  try {
    fromUrls = limitTargets(targetsFromUrls(opts.target), opts.target.length ? opts.limit : undefined);
  } catch (e) {
    if (e instanceof InventoryError) throw e;
    throw new UsageError((e as Error).message);
  }
  const read = opts.inventory
    ? await readInventory(opts.inventory, {
        limit: opts.limit,
        vaultPasswordFile: opts['vault-password-file'],
        reader: reader as InventoryReader,
      })
    : undefined;
  // a part is unknown when no source given knows it
  const unknown = read
    ? read.unmatched.filter((p) => !opts.target.length || fromUrls.unmatched.includes(p))
    : fromUrls.unmatched;
  if (opts.limit !== undefined && unknown.length)
    throw new InventoryError(
      `--limit ${opts.limit}: no group or host is called ${unknown.map((p) => `'${p}'`).join(', ')}` +
        `${read ? ` in ${opts.inventory}` : ''}`,
    );
  return {
    hosts: [...fromUrls.hosts, ...(read?.hosts ?? [])],
    inventory: read && `inventory ${opts.inventory} read by ${read.reader}`,
  };
}

/** The stacks of lesson-check's own errors, for a bug report; returns the file's path. */
function writeInternalErrors(errors: InternalError[], reportsDir: string): string {
  const text = errors.map((e) => `host ${e.host}:\n${e.stack}\n`).join('\n');
  return writeErrorDetails(text, reportsDir);
}

/** How often the page of a watched class reloads itself. */
const LIVE_PAGE_REFRESH_S = 5;

/** grade --watch: the class board until Ctrl-C; the reports rewritten, live, at each change. */
async function watchClass(
  reportsDir: string,
  watcher: Awaited<ReturnType<typeof fleetWatcher>>,
  reports: RunReport[],
  children: Set<ReturnType<typeof spawn>>,
  inventory: string | undefined,
): Promise<void> {
  const board = new ClassBoard();
  const tty = process.stdout.isTTY === true;
  const style = consoleStyle(process.stdout, 'pretty');
  let drawn = 0;
  const show = async () => {
    const at = new Date();
    if (inventory) for (const r of reports) r.inventory = inventory;
    const lines = board.update(reports, at);
    await tryWriteReports(reports, reportsDir, { refreshSeconds: LIVE_PAGE_REFRESH_S, at: at.toISOString() });
    if (tty) {
      drawn = redraw(board.render(reports, at, style), drawn);
    } else for (const line of lines) process.stdout.write(`${line}\n`);
  };
  await show();
  await watcher.watch(reports, children, show);
}
