/** Probes of the host's kernel features, each leaving nothing behind. */
import type { Host } from '../host/host.ts';
import { observedCommand } from '../host/transport.ts';

/** true, or what went wrong: mounts an overlay in a private mount namespace on a temp dir. */
export async function overlayUsable(host: Host): Promise<true | string> {
  const dir = await host.capture(['mktemp', '-d', '-t', 'lesson-check-overlay.XXXXXX']);
  try {
    await host.ensure(['mkdir', `${dir}/lower`, `${dir}/upper`, `${dir}/work`, `${dir}/merged`]);
    // the mount lives and dies with the private namespace of this one command
    const r = await host.run([
      'unshare',
      '--mount',
      '--',
      'mount',
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`,
      `${dir}/merged`,
    ]);
    return r.exitCode === 0 ? true : observedCommand(r);
  } finally {
    // removed even when the check was cancelled (a timeout, Ctrl-C)
    await host.uncancellable(() => host.anyhow(['rm', '-rf', '--', dir]));
  }
}

/** "v2", "v1 (hybrid, with a v2 hierarchy at /sys/fs/cgroup/unified)", "v1", or what was found. */
export async function cgroupVersion(host: Host): Promise<string> {
  // one line per path that exists, in order (unified exists only on a hybrid v1 host)
  const [fsType = '', unified] = (
    await host.run(['stat', '-f', '-c', '%T', '/sys/fs/cgroup', '/sys/fs/cgroup/unified'])
  ).stdout
    .trim()
    .split('\n');
  if (fsType === 'cgroup2fs') return 'v2';
  if (fsType === 'tmpfs')
    return unified === 'cgroup2fs' ? 'v1 (hybrid, with a v2 hierarchy at /sys/fs/cgroup/unified)' : 'v1';
  return `no cgroup hierarchy (/sys/fs/cgroup is ${fsType || 'missing'})`;
}
