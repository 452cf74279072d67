/** Labs kept up for a test (`lab --keep`), torn down by it, and what a read-only run must leave
 * of one exactly as it found it. */
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { teardownLab } from '../../helpers/lab/teardown.ts';
import { Host } from '../../helpers/host/host.ts';
import { LocalTransport } from '../../helpers/host/transport.ts';
import { loadProfile } from '../../helpers/profile.ts';
import { runLab } from './cli.ts';

/** Keeps a lab up (`lab --keep`) and returns its profile file. A lab whose walk failed is kept
 * too (that is what --keep does): it is removed here before the error, or nothing would. */
export async function keepLab(args: string[] = []): Promise<string> {
  const run = await runLab(['--keep', ...args]);
  const profile = /its profile: (\S+)/.exec(run.output)?.[1];
  if (run.exitCode === 0 && profile) return profile;
  if (profile) await removeLab(loadProfile(profile).prefix);
  throw new Error(`lab --keep failed (exit ${run.exitCode}):\n${run.output}`);
}

/** Several labs kept up at once. `remove` tears down every one that came up, also when it is
 * called while some are still coming up (a beforeAll that failed on one, or timed out): it waits
 * for each to end first, so none is left for the next test file (regression: class-board's
 * beforeAll failed on one of three labs, the two others' profiles were never assigned, and a
 * lab left up kept the host's forwarding claim for every later file). */
export function keepLabs(argLists: string[][]): { ready: Promise<string[]>; remove: () => Promise<void> } {
  const keeping = argLists.map((args) => keepLab(args));
  return {
    ready: Promise.all(keeping),
    async remove() {
      for (const kept of await Promise.allSettled(keeping))
        if (kept.status === 'fulfilled') await removeLab(loadProfile(kept.value).prefix);
    },
  };
}

/** Tears down one kept lab. */
export async function removeLab(prefix: string): Promise<void> {
  await teardownLab(new Host(new LocalTransport()), prefix);
}

/** What a read-only run must leave exactly as it found it: containerd's namespaces and, in each,
 * containers, tasks, images, content and snapshots; the lesson's files; netns, links, cgroups.
 * (containerd's own database and blob store change under any client and are not compared.) */
export async function snapshotLab(profileFile: string): Promise<Record<string, string>> {
  const profile = loadProfile(profileFile);
  const ctr = (...args: string[]) =>
    execa(profile.paths.ctr, ['--address', profile.paths.socket, ...args], { reject: false }).then((r) => r.stdout);
  const snap: Record<string, string> = {};
  const namespaces = (await ctr('namespaces', 'ls', '-q')).split('\n').filter(Boolean);
  snap.namespaces = namespaces.join(',');
  for (const ns of namespaces) {
    for (const what of [
      ['containers', 'ls'],
      ['tasks', 'ls'],
      ['images', 'ls'],
      ['content', 'ls', '-q'],
      ['snapshots', 'ls'],
    ]) {
      snap[`${ns} ${what[0]}`] = await ctr('--namespace', ns, ...what);
    }
  }
  const files = await execa(
    'find',
    [
      profile.prefix,
      '(',
      '-path',
      `${profile.prefix}/var/lib/containerd`,
      '-o',
      '-path',
      `${profile.prefix}/lab`,
      '-o',
      '-path',
      `${profile.prefix}/run`,
      ')',
      '-prune',
      '-o',
      '-printf',
      '%p %s %T@ %m\n',
    ],
    { reject: false },
  );
  snap.files = files.stdout.split('\n').sort().join('\n');
  snap.netns = (await execa('ip', ['netns', 'list'])).stdout;
  snap.links = (await execa('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1])
    .sort()
    .join(',');
  snap.cgroups = (
    await execa('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-type', 'd', '-name', 'lc-*'], { reject: false })
  ).stdout
    .split('\n')
    .sort()
    .join(',');
  // the bridge probe's CNI ADD turns forwarding on for the whole host: it must be put back
  snap.ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  snap.forwardingClaims = String(existsSync('/run/lesson-check-ip-forward'));
  return snap;
}
