/**
 * argv builders for the lesson's clients, so that every check talks to the daemon the profile
 * names (socket, hosts dir, CNI dirs) without knowing where it is.
 */
import type { Host } from './host.ts';
import type { Profile } from './profile.ts';

/** `ctr --address <socket> …`. */
export function ctr(profile: Profile, ...args: string[]): string[] {
  return [profile.paths.ctr, '--address', profile.paths.socket, ...args];
}

/** `ctr [--namespace NS] …` (undefined = containerd's "default", the lesson's namespace). */
export function ctrIn(profile: Profile, namespace: string | undefined, ...args: string[]): string[] {
  return ctr(profile, ...(namespace ? ['--namespace', namespace] : []), ...args);
}

/** `ctr [--namespace NS] run … IMAGE NAME …`; a sandbox adds its own runc root and cgroup parent. */
export function ctrRun(profile: Profile, opts: { namespace?: string; flags?: string[] }, image: string, name: string, ...args: string[]): string[] {
  const p = profile.paths;
  const sandbox = [...(p.runcRoot ? ['--runc-root', p.runcRoot] : []), ...(p.cgroupParent ? ['--cgroup', `${p.cgroupParent}/${name}`] : [])];
  return ctrIn(profile, opts.namespace, 'run', ...sandbox, ...(opts.flags ?? []), image, name, ...args);
}

/** `ctr images pull [--hosts-dir DIR] REF`: a sandbox resolves the lesson's registries via hosts.toml. */
export function ctrPull(profile: Profile, ref: string, namespace?: string): string[] {
  const hostsDir = profile.paths.hostsDir ? ['--hosts-dir', profile.paths.hostsDir] : [];
  return ctrIn(profile, namespace, 'images', 'pull', ...hostsDir, ref);
}

/** `nerdctl …` against the profile's daemon, data root and CNI dirs (`cniPath` overrides the plugin dir). */
export function nerdctl(profile: Profile, opts: { cniPath?: string; namespace?: string }, ...args: string[]): string[] {
  const p = profile.paths;
  const hostsDir = p.hostsDir ? ['--hosts-dir', p.hostsDir] : [];
  const namespace = opts.namespace ? ['--namespace', opts.namespace] : [];
  return [p.nerdctl, '--address', p.socket, ...namespace, '--data-root', p.nerdctlDataRoot, '--cni-path', opts.cniPath ?? p.cniBinDir, '--cni-netconfpath', p.cniConfDir, ...hostsDir, ...args];
}

/** Polls `ctr version` until the daemon answers on the profile's socket; `alive` may end the wait
 * early by throwing (the daemon exited). */
export async function awaitContainerd(host: Host, profile: Profile, limitMs: number, alive: () => void = () => undefined): Promise<void> {
  await host.poll(`containerd answering on ${profile.paths.socket}`, async () => {
    alive();
    const r = await host.transport.run(ctr(profile, 'version'), { timeoutMs: 5_000 });
    return r.exitCode === 0 ? true : undefined;
  }, limitMs, 50);
}
