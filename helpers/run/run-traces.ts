/**
 * What an inspecting run (verify, grade, walkthrough) leaves behind if it is cut short, removed at
 * its end whatever happened: its containerd namespaces (`lc-<run id>` and `lc-<run id>-…`, with
 * their containers, images and content), its netns and links, the IPAM and plugin dirs its probes
 * made, nerdctl's, containerd's and runc's per-namespace state, and the cgroups named after the
 * run. Never throws. The probes undo what they make themselves; the netns, links and temp dirs
 * are swept only when a probe may have been cut short (the run was interrupted, or a check ended
 * in an error such as a timeout), and then the run's claim on IPv4 forwarding is let go
 * (helpers/net/forwarding.ts).
 */
import { dirname } from 'node:path';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import { ctr } from '../system/containerd.ts';
import { removeNetObjects } from '../net/net-objects.ts';
import { releaseForwarding } from '../net/forwarding.ts';
import type { RunReport } from '../reporters/model.ts';
import { runLabel } from './run-label.ts';

/** Whether a probe may have been stopped before it undid what it made. */
export function probesCutShort(report: RunReport | undefined, signalled: NodeJS.Signals | undefined): boolean {
  return signalled !== undefined || !report || report.checks.some((c) => c.state === 'error');
}

/** Returns whether everything of the run is gone: false when containerd could not be asked (it
 * is down) or kept a namespace, so that the run's record stays for a later run to finish the job. */
export async function removeRunTraces(
  host: Host,
  profile: Profile,
  runId: string,
  { probesCutShort }: { probesCutShort: boolean },
): Promise<boolean> {
  const ours = (ns: string) => ns === runLabel(runId) || ns.startsWith(runLabel(runId, ''));
  const list = await host.run(ctr(profile, 'namespaces', 'ls', '-q'), { timeoutMs: 5_000 });
  const namespaces = list.exitCode === 0 ? ownNames(list.stdout, ours, MAX_NAMESPACES) : [];
  // no ctr at all (nothing of the lesson here): the run can have made no namespace
  let complete = list.exitCode === 0 || list.spawnError !== undefined;
  const removals = Promise.all(
    namespaces.map(async (namespace) => {
      const [containers, images] = await Promise.all([
        listIn(host, profile, namespace, 'containers'),
        listIn(host, profile, namespace, 'images'),
      ]);
      for (const id of containers) {
        if (host.stopped) break;
        await host.anyhow(ctr(profile, '--namespace', namespace, 'tasks', 'delete', '--force', id));
        await host.anyhow(ctr(profile, '--namespace', namespace, 'containers', 'delete', id));
      }
      await removeNamespace(host, profile, namespace, images).catch(() => {
        complete = false;
      });
    }),
  );
  // the folders and cgroups below are swept while the namespaces go, unless a probe may have been
  // cut short: then containers of the run may still hold them until they are deleted
  if (probesCutShort) await removals;
  // nerdctl keeps names, hosts files and logs per namespace: <data-root>/<address hash>/<kind>/<namespace>
  const named = namespaces.flatMap((n) => ['-name', n, '-o']).slice(0, -1);
  const sweeps: Array<Promise<unknown>> = [];
  if (named.length)
    sweeps.push(removeMatching(host, profile.paths.nerdctlDataRoot, 3, ['-type', 'd', '(', ...named, ')']));
  // containerd and runc keep a folder per namespace in their state and root dirs, and leave it
  // when the namespace goes: `<state>/io.containerd.runtime.v2.task/<ns>`, `<state>/runc/<ns>`
  // (and the sandbox's own runc root), `<root>/io.containerd.runtime.v2.task/<ns>`; rmdir takes
  // only empty ones
  const state = dirname(profile.paths.socket);
  const stateDirs = [
    ...new Set([
      `${state}/io.containerd.runtime.v2.task`,
      `${state}/runc`,
      '/run/containerd/runc',
      ...(profile.paths.runcRoot ? [profile.paths.runcRoot] : []),
      `${profile.prefix}/var/lib/containerd/io.containerd.runtime.v2.task`,
    ]),
  ];
  sweeps.push(
    host.anyhow([
      'sh',
      '-c',
      'd=$1; shift; for p in "$@"; do ' +
        '[ -d "$p" ] && find "$p" -mindepth 1 -maxdepth 1 -type d ' +
        '\\( -name "$d" -o -name "$d-*" \\) -exec rmdir -- {} +; done; true',
      'sh',
      runLabel(runId),
      ...stateDirs,
    ]),
  );
  // the cgroup a namespace's containers go under (`/lc-<run id>`, in every v1 hierarchy or the v2
  // tree): runc removes a container's own but not its parent; rmdir takes only unused ones
  sweeps.push(
    host.anyhow([
      'find',
      '/sys/fs/cgroup',
      '-mindepth',
      '1',
      '-maxdepth',
      '3',
      '-depth',
      '-type',
      'd',
      '(',
      '-name',
      runLabel(runId),
      '-o',
      '-path',
      `*/lc-${runId}/*`,
      ')',
      '-exec',
      'rmdir',
      '--',
      '{}',
      '+',
    ]),
  );
  // probes that were cut short: their netns and bridge, and their temp dirs (named after the run)
  if (probesCutShort) {
    // the bridge first: the last claim let go may turn forwarding back off
    sweeps.push(removeNetObjects(host, runId).then(() => releaseForwarding(host, runId)));
    sweeps.push(
      removeMatching(host, '/tmp', 1, [
        '-name',
        `lesson-check-${runLabel(runId, '*')}`,
        '-o',
        '-name',
        runLabel(runId, '*'),
      ]),
    );
  }
  await Promise.all([removals, ...sweeps]);
  return complete;
}

/**
 * A host's list is its student's: what the sweep reads of one is bounded, to names that could be
 * this run's (one containerd namespace, a probe container or two, an image or two each), however
 * many the host prints, so that a `ctr` printing 10⁵ names costs a command, not 10⁵.
 */
const MAX_NAMESPACES = 4;
const MAX_LISTED = 16;

/** Up to `max` distinct names of `stdout`'s lines that `keep` accepts: words of printable ASCII. */
export function ownNames(stdout: string, keep: (name: string) => boolean, max: number): string[] {
  const names = new Set<string>();
  for (const line of stdout.split('\n', 10_000)) {
    const name = line.trim();
    if (names.size >= max) break;
    if (/^[\x21-\x7e]{1,256}$/.test(name) && keep(name)) names.add(name);
  }
  return [...names];
}

/** The IDs (`ls -q`) of a namespace's containers or images, MAX_LISTED at most. */
async function listIn(host: Host, profile: Profile, namespace: string, what: 'containers' | 'images') {
  const r = await host.run(ctr(profile, '--namespace', namespace, what, 'ls', '-q'), { timeoutMs: 10_000 });
  return ownNames(r.stdout, () => true, MAX_LISTED);
}

/** Removes every folder or file exactly `depth` below `dir` that the `find` tests `match` select. */
function removeMatching(host: Host, dir: string, depth: number, match: string[]): Promise<void> {
  const at = String(depth);
  return host.anyhow([
    'find',
    dir,
    '-mindepth',
    at,
    '-maxdepth',
    at,
    '(',
    ...match,
    ')',
    '-prune',
    '-exec',
    'rm',
    '-rf',
    '--',
    '{}',
    '+',
  ]);
}

/** Removes a containerd namespace of ours: its images first (listed here unless given), then the
 * namespace, retried while garbage collection still holds content (containerd deletes only an
 * empty namespace). */
export async function removeNamespace(
  host: Host,
  profile: Profile,
  namespace: string,
  listed?: string[],
  limitMs = 10_000,
): Promise<void> {
  const inNs = (...args: string[]) => ctr(profile, '--namespace', namespace, ...args);
  const images = listed ?? (await listIn(host, profile, namespace, 'images'));
  if (images.length) await host.anyhow(inNs('images', 'rm', '--sync', ...images));
  let cleared = false;
  await host.poll(
    `containerd namespace ${namespace} removed`,
    async () => {
      const r = await host.run(ctr(profile, 'namespaces', 'remove', namespace));
      // gone already (containerd's NotFound): a listed name that never was a namespace too
      if (r.exitCode === 0 || /: not found\b/.test(r.stderr)) return true;
      const list = await host.run(ctr(profile, 'namespaces', 'ls', '-q'));
      if (list.exitCode === 0 && !list.stdout.split('\n').includes(namespace)) return true;
      if (!cleared) {
        // a `ctr run` cut short leaves its lease and its container's active snapshot, which keep
        // the namespace from being removed: the leases, then the active snapshots
        cleared = true;
        const leases = ownNames((await host.run(inNs('leases', 'ls', '-q'))).stdout, () => true, MAX_LISTED);
        if (leases.length) await host.anyhow(inNs('leases', 'rm', ...leases));
        const listed = (await host.run(inNs('snapshots', 'ls'))).stdout.split('\n', 10_000);
        const activeKeys = listed.map((l) => l.trim().split(/\s+/)).filter((cols) => cols.at(-1) === 'Active');
        const active = ownNames(activeKeys.map((cols) => cols[0]!).join('\n'), () => true, MAX_LISTED);
        for (const key of active) if (!host.stopped) await host.anyhow(inNs('snapshots', 'rm', key));
        await host.anyhow(inNs('content', 'prune', 'references'));
      }
      throw new Error(r.stderr.trim());
    },
    limitMs,
    100,
  );
}
