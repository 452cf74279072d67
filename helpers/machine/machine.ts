/**
 * A throwaway machine: a copy of the cached Debian rootfs booted by systemd-nspawn with systemd
 * as its PID 1, in a network namespace of its own joined to the host by a veth (`ve-<name>`), an
 * sshd inside that takes a key made for it, and the lesson's registry names (ghcr.io) answered
 * by a registry of the machine's own on the host side of the veth, over HTTPS with a certificate
 * the machine trusts — so that the lesson's commands run in it exactly as written, and nothing
 * leaves the host. Every machine has its own name, subnet, cgroups and folder; teardown removes
 * them all, driven by what is on the host (helpers/machine/teardown.ts).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { freeSubnet } from '../net/net-objects.ts';
import { startRegistry } from '../offline/registry.ts';
import { isAlive, startDaemon } from '../offline/supervisor.ts';
import { namespaceCgroups } from '../util/processes.ts';
import { ROOT } from '../util/root.ts';
import { during } from '../util/progress.ts';
import { SERVICE_PATH } from '../system/service.ts';
import { type ImageSources, lessonRegistryNames, makeRegistryTls, pushLessonImages } from './lesson-registry.ts';
import { MachineError, cachedRootfs, requireMachineTools } from './rootfs.ts';
import { makeSshAccess } from './ssh-access.ts';
import { runLabel } from '../run/run-label.ts';
import { readJsonFile, writeJsonAtomically } from '../util/json-file.ts';
import { lastLines, readFileSafe, readdirSafe } from '../util/files.ts';

export const MACHINES_ROOT = process.env.LC_MACHINES_ROOT ?? '/var/lib/lesson-check/machines';

/** Where the host's Node.js, this project, the lesson's assets and the reports appear inside. */
export const INSIDE = {
  node: '/opt/lesson-check/node',
  app: '/opt/lesson-check/app',
  assets: '/opt/lesson-check/assets',
  reports: '/opt/lesson-check/reports',
};

export interface MachineState {
  id: string;
  /** The machine's name (its hostname too): `lc-<id>`; its veth on the host is `ve-<name>`. */
  name: string;
  dir: string;
  subnet: string;
  hostIp: string;
  ip: string;
  nspawnPid?: number;
  registryPid?: number;
  /** The cgroup the machine lives in, in every hierarchy of the host (`/lc-m-<id>`). */
  cgroup: string;
  startedAt: string;
  /** Which of nspawn's own host dirs (/run/systemd/nspawn…) existed before this machine. */
  nspawnDirsBefore: string[];
  /** The host's cgroups of containerd's default namespace (namespaceCgroups) before this machine:
   * its nerdctl containers make theirs in the host's cpuset hierarchy, which nspawn does not
   * delegate on cgroup v1. */
  hostCgroupsBefore?: string[];
}

/** Folders systemd-nspawn makes on the host on first use; teardown removes them when it made
 * them and they are empty (no other machine runs). Deepest first. */
export const NSPAWN_HOST_DIRS = [
  '/run/systemd/nspawn/propagate',
  '/run/systemd/nspawn/locks',
  '/run/systemd/nspawn',
  '/run/systemd',
];

export interface BootOptions extends ImageSources {
  /** A folder of the lesson's release assets (as `fetch --to DIR` leaves them), read-only inside. */
  assetsDir?: string;
}

export class Machine {
  private registryArgs?: { binary: string };

  private constructor(
    readonly host: Host,
    readonly state: MachineState,
  ) {}

  /** Claims a name, a folder and a subnet, recorded before anything can fail. */
  static async prepare(host: Host): Promise<Machine> {
    await requireMachineTools(host);
    const id = randomBytes(3).toString('hex');
    const dir = join(MACHINES_ROOT, id);
    mkdirSync(join(dir, 'reports'), { recursive: true });
    const subnet = await freeSubnet(host);
    const base = subnet.split('/')[0]!.replace(/\.0$/, '');
    const state: MachineState = {
      id,
      name: runLabel(id),
      dir,
      subnet,
      hostIp: `${base}.1`,
      ip: `${base}.2`,
      cgroup: `lc-m-${id}`,
      startedAt: new Date().toISOString(),
      nspawnDirsBefore: NSPAWN_HOST_DIRS.filter((d) => existsSync(d)),
      hostCgroupsBefore: namespaceCgroups(['default']).filter((d) => existsSync(d)),
    };
    const m = new Machine(host, state);
    m.save();
    return m;
  }

  static open(host: Host, dir: string): Machine {
    return new Machine(host, readJsonFile<MachineState>(join(dir, 'machine.json')));
  }

  private save(): void {
    writeJsonAtomically(join(this.state.dir, 'machine.json'), this.state);
  }

  get rootfs(): string {
    return join(this.state.dir, 'rootfs');
  }

  get veth(): string {
    return `ve-${this.state.name}`;
  }

  /** The ssh_config that reaches this machine (key, and its host key pinned). */
  get sshConfig(): string {
    return join(this.state.dir, 'ssh_config');
  }

  get target(): string {
    return `ssh://root@${this.state.ip}`;
  }

  /** Boots the machine; resolves once systemd inside says the boot is done and sshd answers. */
  async boot(opts: BootOptions): Promise<{ rootfsFromCache: boolean }> {
    const { host, state } = this;
    const rootfs = await cachedRootfs(host);
    mkdirSync(join(state.dir, 'app-upper'), { recursive: true });
    await during('copying the cached Debian rootfs for the machine', () =>
      host.ensure(['cp', '-a', '--reflink=auto', rootfs.dir, this.rootfs], { timeoutMs: 300_000 }),
    );
    await this.personalize();
    // nspawn makes the mount points of binds, but not of overlays
    for (const dir of [INSIDE.app, INSIDE.assets, INSIDE.reports])
      mkdirSync(join(this.rootfs, dir), { recursive: true });
    await this.serveImages(opts);
    const cgroupProcs = this.makeCgroups();
    const binds = [
      `--bind-ro=${process.execPath}:${INSIDE.node}`,
      // this project, writable inside (vitest keeps caches beside it) without touching the host's
      `--overlay=${ROOT}:${join(state.dir, 'app-upper')}:${INSIDE.app}`,
      ...(opts.assetsDir ? [`--bind-ro=${opts.assetsDir}:${INSIDE.assets}`] : []),
      `--bind=${join(state.dir, 'reports')}:${INSIDE.reports}`,
    ];
    const nspawn = [
      'systemd-nspawn',
      '--boot',
      `--directory=${this.rootfs}`,
      `--machine=${state.name}`,
      // no machined or systemd on the host: nspawn neither registers the machine nor makes a scope
      '--register=no',
      '--keep-unit',
      // runc inside needs them (its session keyring and its capabilities)
      '--capability=all',
      '--system-call-filter=add_key keyctl request_key',
      '--network-veth',
      '--console=read-only',
      ...binds,
    ];
    // the machine starts in a cgroup of its own in every hierarchy, so that what its systemd and
    // containerd make is below it (and removed with it)
    const script = 'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done; shift; exec "$@"';
    state.nspawnPid = startDaemon(['sh', '-c', script, 'sh', ...cgroupProcs, '--', ...nspawn], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      logFile: join(state.dir, 'console.log'),
    });
    this.save();
    const gone = () =>
      new MachineError(`systemd-nspawn exited: ${lastLines(readFileSafe(join(state.dir, 'console.log')))}`);
    const veth = await host.poll(
      `the machine's veth ${this.veth}`,
      async () => {
        if (!isAlive(state.nspawnPid!)) return 'gone';
        return (await host.run(['ip', 'link', 'show', this.veth])).exitCode === 0 ? 'up' : undefined;
      },
      30_000,
    );
    if (veth === 'gone') throw gone();
    await host.ensure(['ip', 'addr', 'add', `${state.hostIp}/24`, 'dev', this.veth]);
    await host.ensure(['ip', 'link', 'set', this.veth, 'up']);
    await this.startServingRegistry();
    const leader = await host.poll(
      "the machine's systemd (PID 1 inside)",
      () => (isAlive(state.nspawnPid!) ? this.leaderPid() : 0),
      30_000,
    );
    if (!leader) throw gone();
    // its own end of the veth; the address is set by hand, as no networkd runs on either side
    await host.ensure(['nsenter', '-t', String(leader), '-n', 'ip', 'addr', 'add', `${state.ip}/24`, 'dev', 'host0']);
    await host.ensure(['nsenter', '-t', String(leader), '-n', 'ip', 'link', 'set', 'host0', 'up']);
    const booted = await host.poll(
      "the machine's boot (systemctl is-system-running)",
      async () => {
        const r = await this.exec(['systemctl', 'is-system-running']);
        const s = r.stdout.trim();
        return s === 'running' || s === 'degraded' ? s : undefined;
      },
      90_000,
      200,
    );
    // nspawn mounts cgroup v1 controllers read-only; containerd inside must make cgroups in them
    await this.exec(
      [
        'sh',
        '-c',
        'for d in /sys/fs/cgroup/*/; do ' +
          'if grep -q " ${d%/} cgroup ro," /proc/mounts; then mount -o remount,bind,rw "${d%/}"; fi; done',
      ],
      { check: true },
    );
    await host.poll(
      `sshd in the machine (${state.ip}:22)`,
      async () => {
        const r = await host.run(
          ['ssh', '-F', this.sshConfig, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=2', `root@${state.ip}`, 'true'],
          { timeoutMs: 5_000 },
        );
        return r.exitCode === 0 ? true : undefined;
      },
      30_000,
      200,
    );
    if (booted === 'degraded') {
      const failed = await this.exec(['systemctl', '--failed', '--plain', '--no-legend']);
      host.note(`the machine booted degraded: ${failed.stdout.trim()}`);
    }
    return { rootfsFromCache: rootfs.fromCache };
  }

  /** The machine's PID 1 (systemd), a child of systemd-nspawn. */
  leaderPid(): number | undefined {
    const pid = this.state.nspawnPid;
    if (!pid) return undefined;
    for (const task of readdirSafe(`/proc/${pid}/task`)) {
      for (const child of readFileSafe(`/proc/${pid}/task/${task}/children`).split(' ').filter(Boolean)) {
        if (readFileSafe(`/proc/${child}/comm`).trim() === 'systemd') return Number(child);
      }
    }
    return undefined;
  }

  /** The argv that runs `argv` inside the machine (all its namespaces), in a clean environment
   * with systemd's service PATH, plus `env`. */
  enterArgv(argv: string[], env: Record<string, string> = {}): string[] {
    const leader = this.leaderPid();
    if (!leader) throw new MachineError(`machine ${this.state.name} is not running`);
    const vars = Object.entries({ PATH: SERVICE_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env }).map(
      ([k, v]) => `${k}=${v}`,
    );
    return ['nsenter', '-t', String(leader), '-a', '--', 'env', '-i', ...vars, ...argv];
  }

  /** Runs a command inside the machine. */
  async exec(argv: string[], opts: { check?: boolean; timeoutMs?: number; input?: string } = {}) {
    const full = this.enterArgv(argv);
    return opts.check
      ? this.host.ensure(full, { timeoutMs: opts.timeoutMs, input: opts.input })
      : this.host.run(full, { timeoutMs: opts.timeoutMs, input: opts.input });
  }

  /** Its hostname, a fresh sshd host key and a client key, ghcr.io sent to its own registry, and
   * that registry's CA trusted. */
  private async personalize(): Promise<void> {
    const { host, state } = this;
    const r = this.rootfs;
    writeFileSync(join(r, 'etc/hostname'), `${state.name}\n`);
    appendFileSync(join(r, 'etc/hosts'), `127.0.1.1 ${state.name}\n`);
    for (const f of readdirSafe(join(r, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_')))
      rmSync(join(r, 'etc/ssh', f));
    await makeSshAccess(host, { kind: 'machine', name: state.name, dir: state.dir, guestRoot: r, address: state.ip });
    // the lesson's registries resolve to the host's end of the veth, where the machine's registry
    // answers with a certificate for those names from a CA the machine trusts
    appendFileSync(
      join(r, 'etc/hosts'),
      lessonRegistryNames()
        .map((name) => `${state.hostIp} ${name}\n`)
        .join(''),
    );
    await makeRegistryTls(host, join(state.dir, 'tls'), state.name);
    appendFileSync(join(r, 'etc/ssl/certs/ca-certificates.crt'), readFileSync(join(state.dir, 'tls/ca.crt')));
  }

  /** The lesson's images into the machine's registry, served once the veth is up. */
  private async serveImages(opts: BootOptions): Promise<void> {
    await pushLessonImages(this.host, this.state.dir, opts);
    this.registryArgs = { binary: opts.registryBinary };
  }

  /** Starts the HTTPS registry once the veth's host address exists (it binds to it). */
  private async startServingRegistry(): Promise<void> {
    const { host, state } = this;
    if (!this.registryArgs) throw new Error('images not pushed');
    const tls = join(state.dir, 'tls');
    const registry = await startRegistry(host, {
      binary: this.registryArgs.binary,
      dir: state.dir,
      name: 'registry',
      addr: `${state.hostIp}:443`,
      tls: { certificate: join(tls, 'registry.crt'), key: join(tls, 'registry.key') },
    });
    state.registryPid = registry.pid;
    this.save();
  }

  /** `cgroup.procs` of a fresh `/lc-m-<id>` in every hierarchy (v1 controllers, or the v2 tree). */
  private makeCgroups(): string[] {
    const hierarchies = existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? ['/sys/fs/cgroup']
      : readdirSafe('/sys/fs/cgroup')
          .map((h) => `/sys/fs/cgroup/${h}`)
          .filter((h) => existsSync(`${h}/cgroup.procs`));
    return hierarchies.map((h) => {
      mkdirSync(`${h}/${this.state.cgroup}`, { recursive: true });
      return `${h}/${this.state.cgroup}/cgroup.procs`;
    });
  }
}
