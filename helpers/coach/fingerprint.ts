/**
 * How the coach notices that the host changed without re-checking it: one `stat` of the paths
 * the lesson writes (the binaries, config.toml, the unit and its enabling link, the plugins, the
 * socket containerd makes anew at each start, the folder of its running containers), through
 * the host's transport — over ssh, one command on the shared connection. Its output changes
 * when a file appears, goes, is written or changes mode, when containerd restarts, and when a
 * container starts or stops; the checks run again only then.
 */
import { dirname, join } from 'node:path';
import type { Host } from '../host.ts';
import type { Profile } from '../profile.ts';

/** The paths whose metadata stands for the lesson's state on the host. */
export function watchedPaths(profile: Profile): string[] {
  const p = profile.paths;
  const state = dirname(p.socket);
  const bin = dirname(p.containerd);
  return [
    p.containerd,
    p.ctr,
    p.shim,
    p.runc,
    // a runc beside containerd, or a distribution's: R1 and R2 look for them
    join(bin, 'runc'),
    `${profile.prefix}/usr/bin/runc`,
    `${profile.prefix}/usr/sbin/runc`,
    p.nerdctl,
    p.bashCompletion,
    dirname(p.configToml),
    p.configToml,
    p.unitFile,
    ...(profile.service === 'systemd'
      ? [`${profile.prefix}/etc/systemd/system/multi-user.target.wants/containerd.service`]
      : [p.pidFile]),
    p.socket,
    p.cniBinDir,
    ...profile.expect.cniPlugins.map((plugin) => `${p.cniBinDir}/${plugin}`),
    // a container started or stopped changes this folder (the lesson's namespace is "default")
    `${state}/io.containerd.runtime.v2.task/default`,
  ].filter((path, i, all) => path && all.indexOf(path) === i);
}

/** The host's state as the coach compares it: equal text, nothing to re-check. */
export async function fingerprint(host: Host, profile: Profile): Promise<string> {
  // name, inode, size, mtime, ctime (a chmod), mode and type; a missing path says so on stderr
  const r = await host.run(['stat', '-c', '%n %i %s %Y %Z %a %F', '--', ...watchedPaths(profile)], {
    timeoutMs: 10_000,
  });
  return `${r.stdout}\n${r.stderr}\n${r.spawnError ?? ''}${r.timedOut ? 'timed out' : ''}`;
}
