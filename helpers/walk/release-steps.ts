/**
 * The lesson's install steps for its release assets, as the lesson types them, at the paths a
 * profile gives: the sandbox lab (under its prefix) and the system walkthrough (at the real
 * paths) run the very same commands.
 */
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';

/** The lesson's config.toml. */
export const LESSON_CONFIG_TOML =
  'version = 3\n\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\nSystemdCgroup = true\n';

/** The lesson's step: `tar xzvofC containerd-….tar.gz /usr/local`, and the unit into /etc/systemd/system. */
export async function installContainerdRelease(
  host: Host,
  profile: Profile,
  tarball: string,
  unit: string | undefined,
): Promise<void> {
  const usrLocal = join(profile.paths.containerd, '../..');
  await host.ensure(['mkdir', '-p', usrLocal]);
  await host.ensure(['tar', 'xzvofC', tarball, usrLocal]);
  if (unit) await host.ensure(['install', '-D', '-m', '644', unit, profile.paths.unitFile]);
}

/** The lesson's step: `install -m 755 runc.amd64 /usr/local/sbin/runc`. */
export async function installRuncAsset(host: Host, profile: Profile, runc: string, mode = '755'): Promise<void> {
  await host.ensure(['install', '-D', '-m', mode, runc, profile.paths.runc]);
}

/** The lesson's step: /etc/containerd/config.toml. */
export async function writeLessonConfig(host: Host, profile: Profile, text = LESSON_CONFIG_TOML): Promise<void> {
  await host.ensure(['mkdir', '-p', join(profile.paths.configToml, '..')]);
  await host.ensure(['tee', profile.paths.configToml], { input: text });
}

/** The lesson's step: unpack nerdctl, `install -m 755 nerdctl /usr/local/bin`, its bash completion. */
export async function installNerdctlRelease(
  host: Host,
  profile: Profile,
  tarball: string,
  workDir: string,
): Promise<void> {
  const p = profile.paths;
  await host.ensure(['mkdir', '-p', workDir]);
  await host.ensure(['tar', 'xzvofC', tarball, workDir]);
  await host.ensure(['install', '-D', '-m', '755', join(workDir, 'nerdctl'), p.nerdctl]);
  const completion = await host.capture([p.nerdctl, 'completion', 'bash']);
  await host.ensure(['mkdir', '-p', join(p.bashCompletion, '..')]);
  await host.ensure(['tee', p.bashCompletion], { input: `${completion}\n` });
}

/** The lesson's step: `mkdir -p /opt/cni/bin`, `tar xzvofC cni-plugins-….tgz /opt/cni/bin`. */
export async function installCniRelease(host: Host, profile: Profile, tarball: string): Promise<void> {
  await host.ensure(['mkdir', '-p', profile.paths.cniBinDir]);
  await host.ensure(['tar', 'xzvofC', tarball, profile.paths.cniBinDir]);
}
