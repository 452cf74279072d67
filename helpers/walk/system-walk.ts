/**
 * The walkthrough on a real host: the lesson's steps at the lesson's paths, with systemd, from
 * the lesson's release assets. It changes system paths, so the CLI runs it only when asked
 * (`--yes`, or CI=true), on a host that is blank where the lesson installs. A host that already
 * carries a runc on systemd's default PATH (Docker's containerd.io, podman) would hide R1, and
 * containerd.io's own /etc/containerd/config.toml stands where the lesson writes its: such
 * leftovers refuse the walk, or with --set-aside-leftovers are set aside for it; afterwards the
 * walk is undone and the host is as it was (files, enabled units, running services).
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { awaitContainerd } from '../system/containerd.ts';
import { SERVICE_PATH } from '../system/service.ts';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import type { ReleaseFiles } from '../sources/github-source.ts';
import {
  installCniRelease,
  installContainerdRelease,
  installNerdctlRelease,
  installRuncAsset,
  writeLessonConfig,
} from './release-steps.ts';
import type { LessonWalk } from './walk.ts';

export interface SystemWalkState {
  release: ReleaseFiles;
  workDir: string;
  /** Leftovers renamed for the walk: put back afterwards (over what the walk wrote there). */
  setAside: Array<{ from: string; to: string }>;
  /** Set aside a runtime: the services that were active, and what the folders the lesson installs
   * into held before (whatever else is there afterwards, the walk made). */
  before?: { services: string[]; enabled: string[]; entries: Record<string, string[] | null> };
}

export interface Leftovers {
  /** The lesson's own binaries and unit already installed: the walkthrough refuses such a host. */
  atLessonPaths: string[];
  /** Another runtime's config where the lesson writes its own (containerd.io ships one). */
  otherConfigs: string[];
  /** runc binaries on systemd's default PATH, outside the lesson's own path. */
  runcOnPath: string[];
  /** Services that hint at a container runtime already installed. */
  services: string[];
}

/** What an earlier install left on this host (read-only). */
export async function findLeftovers(host: Host, profile: Profile): Promise<Leftovers> {
  const p = profile.paths;
  const lessonPaths = [p.containerd, p.ctr, p.runc, p.nerdctl, p.unitFile, join(p.cniBinDir, 'bridge')];
  const stats = await host.statAll([...lessonPaths, p.configToml]);
  const atLessonPaths = lessonPaths.filter((path) => stats.get(path));
  // a config.toml without the lesson's containerd is another install's
  const otherConfigs = stats.get(p.configToml) && !stats.get(p.containerd) ? [p.configToml] : [];
  const runcOnPath: string[] = [];
  // systemd's default PATH for services: a runc in any of these is found by containerd's shim
  for (const dir of SERVICE_PATH.split(':')) {
    const runc = join(dir, 'runc');
    // /sbin and /bin are often links to /usr/…: report each binary once
    const real = (await host.run(['readlink', '-e', runc])).stdout.trim();
    if (real && real !== p.runc && !runcOnPath.includes(real)) runcOnPath.push(real);
  }
  const services: string[] = [];
  for (const unit of ['containerd', 'docker']) {
    const state = (await host.run(['systemctl', 'is-active', unit])).stdout.trim();
    if (state === 'active') services.push(`${unit}.service is active`);
  }
  return { atLessonPaths, otherConfigs, runcOnPath, services };
}

/** Why the walkthrough cannot start on a host with these leftovers (one line), or undefined. */
export function leftoversRefusal(leftovers: Leftovers, setAside: boolean): string | undefined {
  if (leftovers.atLessonPaths.length)
    return (
      `this host already has the lesson's files: ${leftovers.atLessonPaths.join(', ')}. The walkthrough asserts ` +
      'the state before each step, so it needs a host without them (a fresh VM); `lesson-check verify` checks a ' +
      'finished one'
    );
  const found = [...leftovers.otherConfigs, ...leftovers.runcOnPath, ...leftovers.services];
  if (found.length && !setAside)
    return (
      `this host already has a container runtime: ${found.join(', ')}; it would hide what the lesson shows ` +
      "(R1 finds a runc, the config is not the lesson's). On a throwaway VM, --set-aside-leftovers sets them " +
      'aside for the walk and puts them back after'
    );
  return undefined;
}

export class SystemWalk implements LessonWalk {
  private constructor(
    private readonly stateFile: string,
    private readonly state: SystemWalkState,
    private readonly host: Host,
    private readonly profile: Profile,
  ) {}

  static create(stateFile: string, state: SystemWalkState, host: Host, profile: Profile): SystemWalk {
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    return new SystemWalk(stateFile, state, host, profile);
  }

  static open(stateFile: string, host: Host, profile: Profile): SystemWalk {
    return new SystemWalk(stateFile, JSON.parse(readFileSync(stateFile, 'utf8')) as SystemWalkState, host, profile);
  }

  /** Stops a container runtime already running (Docker's containerd would keep the socket and
   * survive `enable --now`), and renames leftover runc binaries (`<path>.lesson-check-aside`)
   * so that R1 can be observed. The services stay stopped: the lesson's containerd takes over. */
  async setAside(leftovers: Leftovers): Promise<void> {
    if (leftovers.services.length)
      await this.host.anyhow(['systemctl', 'stop', 'docker.socket', 'docker.service', 'containerd.service'], {
        timeoutMs: 60_000,
      });
    // the other runtime's state too: the lesson's containerd would write its own there
    const state = [this.containerdRoot()].filter((d) => existsSync(d));
    this.renameAside([...leftovers.runcOnPath, ...leftovers.otherConfigs, ...state]);
    // listed once those are set aside: what is there after the walk and not in here, the walk made
    const entries: Record<string, string[] | null> = {};
    for (const dir of this.installDirs()) entries[dir] = existsSync(dir) ? readdirSync(dir) : null;
    // enabled units: the lesson's `enable --now containerd` takes over the name
    const enabled: string[] = [];
    for (const unit of ['containerd.service', 'docker.service', 'docker.socket'])
      if ((await this.host.run(['systemctl', 'is-enabled', unit])).stdout.trim() === 'enabled') enabled.push(unit);
    this.state.before = { services: leftovers.services.map((s) => s.split(' ')[0]!), enabled, entries };
    writeFileSync(this.stateFile, JSON.stringify(this.state, null, 2));
  }

  /** Where containerd keeps its images and containers (the lesson's and a package's alike). */
  private containerdRoot(): string {
    return join(this.profile.prefix || '/', 'var/lib/containerd');
  }

  /** The folders the lesson installs into or its tools keep state in. */
  private installDirs(): string[] {
    const p = this.profile.paths;
    return [
      ...new Set([
        dirname(p.containerd),
        dirname(p.runc),
        dirname(p.cniBinDir),
        dirname(p.configToml),
        dirname(p.unitFile),
        dirname(p.bashCompletion),
        dirname(p.cniConfDir),
        p.nerdctlDataRoot,
        join(this.profile.prefix || '/', 'var/lib/cni'),
      ]),
    ];
  }

  /** After a walk on a host whose runtime was set aside: the lesson's install undone (its
   * containers, unit, files and state), what was set aside put back, and the services that were
   * active started again. Returns what was put back. Never throws. */
  async putBack(): Promise<string[]> {
    const before = this.state.before;
    if (before) {
      const { host, profile } = this;
      const ctr = (...args: string[]) => [profile.paths.ctr, '--address', profile.paths.socket, ...args];
      // the walk's containers (podinfo) go with their tasks, before its containerd stops
      for (const ns of (await host.run(ctr('namespaces', 'ls', '-q'))).stdout.split('\n').filter(Boolean))
        for (const id of (await host.run(ctr('-n', ns, 'containers', 'ls', '-q'))).stdout.split('\n').filter(Boolean)) {
          await host.anyhow(ctr('-n', ns, 'tasks', 'kill', '-s', 'KILL', id));
          await host.anyhow(ctr('-n', ns, 'tasks', 'delete', '--force', id));
          await host.anyhow(ctr('-n', ns, 'containers', 'delete', id));
        }
      await host.anyhow(['systemctl', 'disable', '--now', 'containerd.service'], { timeoutMs: 60_000 });
      // what is new in the folders the lesson installs into is the walk's (rm: a busy mount, should
      // one remain, is skipped, not thrown)
      const made: string[] = [];
      for (const [dir, was] of Object.entries(before.entries)) {
        if (!existsSync(dir)) continue;
        if (was === null) made.push(dir);
        else
          made.push(
            ...readdirSync(dir)
              .filter((e) => !was.includes(e))
              .map((e) => join(dir, e)),
          );
      }
      await host.anyhow(['rm', '-rf', '--', ...made, this.containerdRoot(), dirname(profile.paths.socket)]);
      await host.anyhow(['systemctl', 'daemon-reload']);
    }
    const restored = this.restore();
    if (before?.enabled.length) await this.host.anyhow(['systemctl', 'enable', ...before.enabled]);
    if (before?.services.length)
      await this.host.anyhow(['systemctl', 'start', ...before.services], { timeoutMs: 60_000 });
    return restored;
  }

  private renameAside(paths: string[]): void {
    for (const from of paths) {
      const to = `${from}.lesson-check-aside`;
      renameSync(from, to);
      this.state.setAside.push({ from, to });
    }
    writeFileSync(this.stateFile, JSON.stringify(this.state, null, 2));
  }

  /** Puts back what setAside moved, over what the walk wrote in its place (the lesson's config). */
  restore(): string[] {
    const restored: string[] = [];
    for (const { from, to } of this.state.setAside) {
      if (existsSync(to)) {
        rmSync(from, { force: true });
        renameSync(to, from);
        restored.push(from);
      }
    }
    return restored;
  }

  private file(role: keyof ReleaseFiles['files']): string {
    const f = this.state.release.files[role];
    if (!f) throw new Error(this.state.release.missing[role] ?? `no ${role} asset`);
    return f;
  }

  async installContainerd(): Promise<void> {
    await installContainerdRelease(this.host, this.profile, this.file('containerd'), this.file('unit'));
  }

  async startContainerd(): Promise<void> {
    await this.host.ensure(['systemctl', 'daemon-reload']);
    await this.host.ensure(['systemctl', 'enable', '--now', 'containerd'], { timeoutMs: 60_000 });
    await awaitContainerd(this.host, this.profile, 30_000);
  }

  async restartContainerd(): Promise<void> {
    await this.host.ensure(['systemctl', 'restart', 'containerd'], { timeoutMs: 60_000 });
    await awaitContainerd(this.host, this.profile, 30_000);
  }

  async installRunc(): Promise<void> {
    await installRuncAsset(this.host, this.profile, this.file('runc'));
  }

  async writeConfig(): Promise<void> {
    await writeLessonConfig(this.host, this.profile);
  }

  async installNerdctl(): Promise<void> {
    await installNerdctlRelease(this.host, this.profile, this.file('nerdctl'), join(this.state.workDir, 'nerdctl'));
  }

  async installCniPlugins(): Promise<void> {
    await installCniRelease(this.host, this.profile, this.file('cni'));
  }
}
