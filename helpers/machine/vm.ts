/**
 * A throwaway virtual machine: Debian with its own kernel (cgroup v2, systemd as PID 1), booted
 * by QEMU from a qcow2 overlay of the cached image (vm-image.ts). Its network is QEMU's user
 * network with `restrict=on`: the guest reaches nothing but two explicit forwards — its sshd,
 * from a loopback port on this host, and the lesson's registry names (ghcr.io, in its
 * /etc/hosts), whose connections QEMU hands to `socat`, to a registry of this VM's own that
 * listens on a Unix socket in its folder. Node.js, this project and the lesson's assets come in
 * on a second disk, made for this VM. Everything it has on the host is in its folder, and every
 * process it has names that folder: teardown (teardownVm) is driven by that.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { type TeardownReport, killProcessesUnder } from '../util/processes.ts';
import { freeLoopbackPort, startRegistry } from '../offline/registry.ts';
import { isAlive, startDaemon, stopProcess } from '../offline/supervisor.ts';
import { during } from '../util/progress.ts';
import { ROOT } from '../util/root.ts';
import { runLabel } from '../run/run-label.ts';
import { SERVICE_PATH } from '../system/service.ts';
import { shellQuote } from '../host/ssh.ts';
import { type ImageSources, lessonRegistryNames, makeRegistryTls, pushLessonImages } from './lesson-registry.ts';
import { INSIDE, MACHINES_ROOT } from './machine.ts';
import { GUEST_TOOLS, MachineError, requireTools } from './rootfs.ts';
import { makeSshAccess } from './ssh-access.ts';
import { GUEST_NET, type VmRelease, cachedVmImage } from './vm-image.ts';
import { readJsonFileIfAny, writeJsonAtomically } from '../util/json-file.ts';
import { lastLines, readFileSafe } from '../util/files.ts';

/** How QEMU runs the guest: KVM where it works here, TCG (software emulation) otherwise. */
export interface Accel {
  kind: 'kvm' | 'tcg';
  why: string;
}

export interface VmState {
  kind: 'vm';
  id: string;
  /** The VM's name (its hostname too): `lc-<id>`. */
  name: string;
  dir: string;
  release: VmRelease;
  /** The loopback port on this host forwarded to the guest's sshd. */
  sshPort: number;
  qemuPid?: number;
  registryPid?: number;
  accel?: Accel;
  startedAt: string;
}

export interface VmBootOptions extends ImageSources {
  /** A folder of the lesson's release assets, copied onto the VM's second disk. */
  assetsDir?: string;
}

/** The tools a VM needs on this host, or a MachineError saying what to install. */
function requireVmTools(host: Host): Promise<void> {
  return requireTools(host, 'a VM needs root (it debootstraps its image)', [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['qemu-img', 'qemu-utils'],
    ['socat', 'socat'],
    ['mkfs.ext4', 'e2fsprogs'],
    ...GUEST_TOOLS,
  ]);
}

/** How long a kernel under KVM may take to reach its first panic before KVM counts as too slow
 * (TCG itself gets there in about 4 s here; KVM that works, in about 1). */
const KVM_PROBE_MS = 10_000;

/** KVM when /dev/kvm is there and a kernel really runs on it: the VM's own kernel, booted with no
 * root file system, must reach its panic ("VFS: Unable to mount root fs") within KVM_PROBE_MS.
 * On a paravirtual host QEMU may start a vCPU and then stop at "KVM internal error" (seen here),
 * or run it a thousand times slower than TCG: both are TCG, and the console says why. */
async function chooseAccel(kernel: string, dir: string): Promise<Accel> {
  if (process.env.LC_VM_ACCEL === 'tcg') return { kind: 'tcg', why: 'LC_VM_ACCEL=tcg' };
  if (!existsSync('/dev/kvm')) return { kind: 'tcg', why: 'no /dev/kvm here' };
  const started = Date.now();
  // its pidfile in the VM's folder names the folder, so that the teardown of a VM whose run was
  // killed outright stops a probe that hung (KVM's internal error hangs QEMU); and it never
  // outlives 30 s in any case
  const probe = spawn(
    'timeout',
    [
      ...['-s', 'KILL', '30', 'qemu-system-x86_64', '-pidfile', join(dir, 'kvm-probe.pid')],
      ...['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none'],
      ...['-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', 'stdio'],
    ],
    // a group of its own: `timeout` and QEMU are stopped together
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let said = '';
  let timer: NodeJS.Timeout | undefined;
  const verdict = await new Promise<Accel>((done) => {
    timer = setTimeout(
      () => done({ kind: 'tcg', why: `a kernel under KVM did not boot in ${KVM_PROBE_MS / 1000} s` }),
      KVM_PROBE_MS,
    );
    const heard = (d: Buffer) => {
      said += d.toString();
      const error = /KVM internal error[^\n]*|failed to [^\n]*/.exec(said);
      if (/Kernel panic/.test(said))
        done({ kind: 'kvm', why: `a kernel booted under KVM in ${((Date.now() - started) / 1000).toFixed(1)} s` });
      else if (error) done({ kind: 'tcg', why: `KVM is not usable here (${error[0].trim().slice(0, 100)})` });
    };
    probe.stdout.on('data', heard);
    probe.stderr.on('data', heard);
    probe.once('error', (e) => done({ kind: 'tcg', why: `QEMU could not start with KVM: ${e.message}` }));
    probe.once('close', () => done({ kind: 'tcg', why: `QEMU with KVM exited: ${lastLine(said)}` }));
  });
  clearTimeout(timer);
  try {
    if (probe.pid) process.kill(-probe.pid, 'SIGKILL');
  } catch {
    // ended already
  }
  return verdict;
}

export class VirtualMachine {
  private constructor(
    readonly host: Host,
    readonly state: VmState,
  ) {}

  /** Claims a name, a folder and the ssh port, recorded before anything can fail. */
  static async prepare(host: Host, release: VmRelease): Promise<VirtualMachine> {
    await requireVmTools(host);
    const id = randomBytes(3).toString('hex');
    const dir = join(MACHINES_ROOT, id);
    mkdirSync(join(dir, 'reports'), { recursive: true });
    const vm = new VirtualMachine(host, {
      kind: 'vm',
      id,
      name: runLabel(id),
      dir,
      release,
      sshPort: await freeLoopbackPort(),
      startedAt: new Date().toISOString(),
    });
    vm.save();
    return vm;
  }

  private save(): void {
    writeJsonAtomically(join(this.state.dir, 'vm.json'), this.state);
  }

  /** The ssh_config that reaches this VM (its key, and its host key pinned). */
  get sshConfig(): string {
    return join(this.state.dir, 'ssh_config');
  }

  get target(): string {
    return `ssh://root@127.0.0.1:${this.state.sshPort}`;
  }

  alive(): boolean {
    return this.state.qemuPid !== undefined && isAlive(this.state.qemuPid);
  }

  /** Boots the VM — its image (built on first use), disks and registry, then QEMU — and resolves
   * once sshd answers and systemd inside says the boot is done. `bootMs` is QEMU's part: from its
   * start to a running system. */
  async boot(opts: VmBootOptions): Promise<{ imageFromCache: boolean; accel: Accel; bootMs: number }> {
    const { host, state } = this;
    const image = await cachedVmImage(host, state.release);
    const accel = await chooseAccel(image.kernel, state.dir);
    state.accel = accel;
    this.save();
    await host.ensure([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      image.disk,
      '-F',
      'raw',
      join(state.dir, 'root.qcow2'),
    ]);
    await this.makeSeed();
    await during('writing the VM its disk of Node.js, this project and the assets', () => this.makeAppDisk(opts));
    await pushLessonImages(host, state.dir, opts);
    const registry = await startRegistry(host, {
      binary: opts.registryBinary,
      dir: state.dir,
      name: 'registry',
      addr: join(state.dir, 'registry.sock'),
      tls: { certificate: join(state.dir, 'tls/registry.crt'), key: join(state.dir, 'tls/registry.key') },
    });
    state.registryPid = registry.pid;
    this.save();
    const nic = [
      'user',
      'model=virtio-net-pci',
      // the guest reaches neither this host nor beyond it: only the forwards below
      'restrict=on',
      `hostfwd=tcp:127.0.0.1:${state.sshPort}-:22`,
      `guestfwd=tcp:${GUEST_NET.registry}:443-cmd:socat - UNIX-CONNECT:${join(state.dir, 'registry.sock')}`,
    ].join(',');
    const qemu = [
      'qemu-system-x86_64',
      '-name',
      state.name,
      '-accel',
      accel.kind,
      '-cpu',
      accel.kind === 'kvm' ? 'host' : 'max',
      '-smp',
      '2',
      '-m',
      '3072',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-kernel',
      image.kernel,
      '-initrd',
      image.initrd,
      '-append',
      'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet',
      '-drive',
      `file=${join(state.dir, 'root.qcow2')},if=virtio,format=qcow2`,
      '-drive',
      `file=${join(state.dir, 'app.img')},if=virtio,format=raw`,
      '-nic',
      nic,
      '-fw_cfg',
      `name=opt/lesson-check/seed,file=${join(state.dir, 'seed.tar')}`,
      '-serial',
      `file:${join(state.dir, 'console.log')}`,
    ];
    const qemuStarted = Date.now();
    state.qemuPid = startDaemon(qemu, {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      logFile: join(state.dir, 'qemu.log'),
    });
    this.save();
    await host.poll(
      `the VM's sshd (127.0.0.1:${state.sshPort})`,
      async () => {
        if (!this.alive())
          throw new MachineError(`QEMU exited: ${lastLines(readFileSafe(join(state.dir, 'qemu.log'), 'no log'))}`);
        const r = await this.ssh(['true'], { timeoutMs: 10_000 });
        return r.exitCode === 0 ? true : undefined;
      },
      // emulated, on a busy host: a boot has taken 75 s here
      300_000,
      500,
    );
    await host.poll(
      "the VM's boot (systemctl is-system-running)",
      async () => {
        const s = (await this.ssh(['systemctl', 'is-system-running'])).stdout.trim();
        return s === 'running' || s === 'degraded' ? s : undefined;
      },
      120_000,
      500,
    );
    return { imageFromCache: image.fromCache, accel, bootMs: Date.now() - qemuStarted };
  }

  /** Runs `argv` inside the VM over ssh, as root, in a clean environment (systemd's service
   * PATH, as the nspawn machine's) plus `env`. */
  ssh(argv: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) {
    return this.host.run(this.sshArgv(argv, opts.env), { timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  /** The argv on this host that runs `argv` inside the VM. */
  sshArgv(argv: string[], env: Record<string, string> = {}): string[] {
    const vars = Object.entries({ PATH: SERVICE_PATH, HOME: '/root', LANG: 'C.UTF-8', ...env }).map(
      ([k, v]) => `${k}=${v}`,
    );
    const command = ['env', '-i', ...vars, ...argv].map(shellQuote).join(' ');
    return ['ssh', '-F', this.sshConfig, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '127.0.0.1', command];
  }

  /** The guest's reports folder, copied into `to`. */
  async copyReportsTo(to: string): Promise<void> {
    mkdirSync(to, { recursive: true });
    const pull = `${this.sshArgv(['tar', '-C', INSIDE.reports, '-cf', '-', '.']).map(shellQuote).join(' ')}`;
    await this.host.ensure(['sh', '-c', `${pull} | tar -x -C ${shellQuote(to)}`], { timeoutMs: 120_000 });
  }

  /** The tar QEMU hands the guest (fw_cfg): its host key, the key lesson-check logs in with, its
   * name, the lesson's registry names and the CA of this VM's registry. */
  private async makeSeed(): Promise<void> {
    const { host, state } = this;
    const seed = join(state.dir, 'seed');
    mkdirSync(join(seed, 'run/lesson-check-seed'), { recursive: true });
    await makeSshAccess(host, {
      kind: 'VM',
      name: state.name,
      dir: state.dir,
      guestRoot: seed,
      address: '127.0.0.1',
      port: state.sshPort,
    });
    writeFileSync(join(seed, 'etc/hostname'), `${state.name}\n`);
    writeFileSync(
      join(seed, 'run/lesson-check-seed/hosts'),
      `127.0.1.1 ${state.name}\n${lessonRegistryNames()
        .map((name) => `${GUEST_NET.registry} ${name}\n`)
        .join('')}`,
    );
    await makeRegistryTls(host, join(state.dir, 'tls'), state.name);
    writeFileSync(join(seed, 'run/lesson-check-seed/ca.crt'), readFileSync(join(state.dir, 'tls/ca.crt')));
    await host.ensure(['chmod', '700', join(seed, 'root'), join(seed, 'root/.ssh')]);
    await host.ensure(['tar', '-C', seed, '--owner=0', '--group=0', '-cf', join(state.dir, 'seed.tar'), '.']);
    rmSync(seed, { recursive: true, force: true });
  }

  /** The second disk (/opt/lesson-check inside): this host's Node.js, this project as it is
   * here (without .git and its reports), the lesson's assets, and an empty reports folder. */
  private async makeAppDisk(opts: VmBootOptions): Promise<void> {
    const { host, state } = this;
    const staging = join(state.dir, 'app-disk');
    const inside = (p: string) => join(staging, p.replace(/^\/opt\/lesson-check\//, ''));
    mkdirSync(inside(INSIDE.reports), { recursive: true });
    cpSync(process.execPath, inside(INSIDE.node));
    cpSync(ROOT, inside(INSIDE.app), {
      recursive: true,
      filter: (src) => !/\/(\.git|reports)$/.test(src),
    });
    if (opts.assetsDir) cpSync(opts.assetsDir, inside(INSIDE.assets), { recursive: true });
    await host.ensure(['truncate', '-s', '4G', join(state.dir, 'app.img')]);
    await host.ensure(['mkfs.ext4', '-q', '-F', '-L', 'lesson-check-app', '-d', staging, join(state.dir, 'app.img')], {
      timeoutMs: 300_000,
    });
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface VmTeardownReport extends TeardownReport {
  name: string;
}

/** Stops QEMU (the guest is thrown away, not shut down), then whatever still runs from the
 * VM's folder (its registry, a forward's socat), and removes the folder: overlay, disks,
 * sockets, keys. The forwarded port closes with QEMU. Safe on a VM that never booted, and twice. */
export async function teardownVm(dir: string): Promise<VmTeardownReport> {
  const state = readVmState(dir);
  const report: VmTeardownReport = {
    name: state?.name ?? runLabel(dir.split('/').pop() ?? ''),
    processes: 0,
    removed: false,
  };
  if (state?.qemuPid && processNames(state.qemuPid, dir)) await stopProcess(state.qemuPid, 10_000);
  if (state?.registryPid && processNames(state.registryPid, dir)) await stopProcess(state.registryPid, 5_000);
  report.processes = await killProcessesUnder(dir);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  report.removed = !existsSync(dir);
  return report;
}

/** Whether `pid` is still the VM's (its command line names the VM's folder), not a reused PID. */
function processNames(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`);
  } catch {
    return false;
  }
}

export function readVmState(dir: string): VmState | undefined {
  return readJsonFileIfAny<VmState>(join(dir, 'vm.json'));
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 100) ?? '';
}
