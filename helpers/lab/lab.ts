/**
 * The sandbox lab: the lesson's layout under a private prefix, the lesson's steps performed on
 * it (installs from the source's cache, a supervised containerd), and the infrastructure that
 * keeps it offline (a loopback registry serving stand-in images under the lesson's names).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { awaitContainerd } from '../system/containerd.ts';
import { type Profile, sandboxProfile, profileToml } from '../profile.ts';
import { type AptArtifacts, fetchAptArtifacts } from '../sources/apt-source.ts';
import {
  LESSON_CONFIG_TOML,
  installCniRelease,
  installContainerdRelease,
  installNerdctlRelease,
  installRuncAsset,
  writeLessonConfig,
} from '../walk/release-steps.ts';
import type { ReleaseFiles } from '../sources/github-source.ts';
import { STAND_IN_GREETING, pushLabImages, splitReference } from '../offline/images.ts';
import { resolveRelease } from '../sources/release.ts';
import { isAlive, startDaemon, stopProcess } from '../offline/supervisor.ts';
import { freeLoopbackPort, startRegistry } from '../offline/registry.ts';
import { removeRuntimeLeftovers, snapshotHostTraces } from './teardown.ts';
import { freeSubnet, netNames } from '../net/net-objects.ts';
import { type Fault, LABS_ROOT, type LabState } from './lab-state.ts';
import { type SourceSpec, sourceName } from '../sources/source-spec.ts';
import { claimForwarding, labClaim } from '../net/forwarding.ts';
import { currentNetns } from '../net/netns.ts';
import type { LessonWalk } from '../walk/walk.ts';
import { readJsonFile, writeJsonAtomically } from '../util/json-file.ts';

export { freeLoopbackPort };

/** Host tools containerd and the CNI plugins may call; linked into a dir of their own so that
 * containerd's PATH never includes a system dir that could hold a runc. */
const HOST_TOOLS = [
  'iptables',
  'ip6tables',
  'iptables-save',
  'iptables-restore',
  'ip',
  'mount',
  'umount',
  'modprobe',
  'unpigz',
];

/** The lesson's config.toml, or the faulty variant a test asked for. */
function lessonConfigToml(faults: Fault[]): string {
  return faults.includes('config-without-systemd-cgroup')
    ? LESSON_CONFIG_TOML.replace('SystemdCgroup = true\n', '')
    : LESSON_CONFIG_TOML;
}

export class Lab implements LessonWalk {
  /** A line per image pushed, saying what it is (stand-in, or built from upstream source). */
  private imageNotes: string[] = [];

  private constructor(
    readonly stateFile: string,
    public state: LabState,
    private readonly host: Host,
    readonly profile: Profile,
  ) {}

  static open(stateFile: string, host: Host, profile: Profile): Lab {
    return new Lab(stateFile, readJsonFile<LabState>(stateFile), host, profile);
  }

  /** Claims a fresh prefix and records the lab's state, before anything can fail: whatever
   * happens next, teardown finds it by its prefix. */
  static prepare(host: Host, opts: { faults: Fault[]; source: SourceSpec }): Lab {
    const id = randomBytes(3).toString('hex');
    const prefix = join(LABS_ROOT, id);
    // what labs already gone left in runc's default root (their prefix is removed last: gone means dead)
    removeRuntimeLeftovers(LABS_ROOT);
    mkdirSync(join(prefix, 'lab'), { recursive: true });
    const state: LabState = {
      id,
      prefix,
      source: opts.source,
      faults: opts.faults,
      sourceChoice: [],
      profileFile: join(prefix, 'profile.toml'),
      netns: currentNetns(),
      hostTracesBefore: snapshotHostTraces(id),
    };
    const lab = new Lab(join(prefix, 'lab', 'lab.json'), state, host, sandboxProfile(prefix));
    lab.save();
    return lab;
  }

  /** Builds the lab up to the lesson's first step: cached binaries, registry, stand-in images, profile. */
  async setUp(): Promise<void> {
    // first: the value found is what teardown puts back, whatever the walk's bridges turn on
    await claimForwarding(this.host, labClaim(this.id));
    this.state.artifacts = await fetchAptArtifacts(this.host);
    // Debian's packages will do here; the lab runs without nerdctl (N checks skipped) and
    // writes its own unit when the release lacks them
    const resolved = await resolveRelease(this.host, this.state.source, { apt: true, mayLack: ['nerdctl', 'unit'] });
    this.state.source = resolved.source;
    this.state.sourceChoice = resolved.choice;
    this.state.release = resolved.release;
    this.state.podinfo = resolved.podinfo;
    if (this.state.release && !this.state.release.missing.nerdctl)
      this.state.nerdctlNetwork = { bridge: `${netNames(this.id).link}n0`, subnet: await freeSubnet(this.host) };
    this.save();
    this.linkHostTools();
    await this.startRegistry();
    await this.serveLessonImages();
    this.writeProfile();
  }

  private get artifacts(): AptArtifacts {
    if (!this.state.artifacts) throw new Error('the lab is not set up: no artifacts');
    return this.state.artifacts;
  }

  /** The release asset for `role` (github and dir sources), or undefined for the apt source. */
  private asset(role: keyof ReleaseFiles['files']): string | undefined {
    if (!this.state.release) return undefined;
    const file = this.state.release.files[role];
    if (!file) throw new Error(this.state.release.missing[role] ?? `no ${role} asset`);
    return file;
  }

  /** True when the lab fetched nothing new (every artifact came from the cache). */
  get fromCache(): boolean {
    return (this.state.artifacts?.fromCache ?? false) && (this.state.release?.fromCache ?? true);
  }

  get id(): string {
    return this.state.id;
  }

  private get own(): string {
    return join(this.state.prefix, 'lab');
  }

  save(): void {
    writeJsonAtomically(this.stateFile, this.state);
  }

  private linkHostTools(): void {
    const dir = join(this.own, 'hosttools');
    mkdirSync(dir, { recursive: true });
    for (const tool of HOST_TOOLS) {
      const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
      if (found) symlinkSync(found, join(dir, tool));
    }
  }

  /** The PATH containerd runs with: the lesson's bin dirs inside the prefix, then the host tools. */
  private daemonPath(): string {
    const p = this.state.prefix;
    return [join(p, 'usr/local/sbin'), join(p, 'usr/local/bin'), join(this.own, 'hosttools')].join(':');
  }

  private async startRegistry(): Promise<void> {
    const port = await freeLoopbackPort();
    this.state.registry = await startRegistry(this.host, {
      binary: this.artifacts.files.registry,
      dir: this.own,
      name: 'registry',
      addr: `127.0.0.1:${port}`,
    });
    this.save();
  }

  /** Stand-in images under the lesson's names, and hosts.toml so those names resolve to our registry only. */
  private async serveLessonImages(): Promise<void> {
    const { registry } = this.state;
    if (!registry) throw new Error('registry not started');
    this.imageNotes = await pushLabImages(this.host, {
      busybox: this.artifacts.files.busybox,
      workDir: join(this.own, 'images'),
      registryUrl: registry.url,
      hello: this.profile.images.hello,
      podinfo: this.profile.images.podinfo,
      podinfoBuild: this.state.podinfo,
    });
    const registries = new Set(
      [this.profile.images.hello, this.profile.images.podinfo].map((r) => splitReference(r).registry),
    );
    for (const name of registries) {
      const dir = join(this.profile.paths.hostsDir, name);
      mkdirSync(dir, { recursive: true });
      // `server` is our registry itself (not a mirror in front of the real one), so a failed
      // pull never falls back to the internet.
      writeFileSync(
        join(dir, 'hosts.toml'),
        `# lesson-check lab ${this.id}: ${name} served by the lab's own registry\nserver = "${registry.url}"\n`,
      );
    }
  }

  private writeProfile(): void {
    const a = this.artifacts;
    const release = this.state.release;
    this.profile.name = `lab-${this.id}`;
    this.profile.expect.helloOutput = escapeRegExp(STAND_IN_GREETING);
    const images = [...this.imageNotes, "images served by a loopback registry under the lesson's names"];
    if (release) {
      // the lesson's own assets: the lesson's pins (or --pin's) are what they must report
      this.profile.versions = { ...release.versions };
      if (release.missing.nerdctl)
        this.profile.unavailable.nerdctl = `nerdctl could not be fetched: ${release.missing.nerdctl}`;
      this.profile.provenance = {
        source: release.source,
        standInImages: true,
        podinfo: this.state.podinfo?.version ?? '',
        notes: [...this.state.sourceChoice, ...release.notes, ...images],
      };
    } else {
      // Debian's builds: what the binaries report of themselves is what the checks expect
      this.profile.versions = {
        ...this.profile.versions,
        containerd: a.reported.containerd,
        runc: a.reported.runc,
        cniPlugins: a.reported.cniPlugins,
      };
      this.profile.unavailable.nerdctl =
        'nerdctl is not available from the apt source: no Debian or Ubuntu release packages it';
      this.profile.provenance = {
        source: 'apt',
        standInImages: true,
        podinfo: '',
        notes: [
          ...this.state.sourceChoice,
          ...Object.entries(a.packages).map(([name, p]) => `${name} ${p.version} (${p.release})`),
          ...images,
        ],
      };
    }
    if (this.state.nerdctlNetwork) this.profile.expect.nerdctlSubnet = this.state.nerdctlNetwork.subnet;
    const versionsNote = release
      ? "versions: the lesson's pins"
      : "versions: what the apt source's binaries report of themselves";
    writeFileSync(
      this.state.profileFile,
      profileToml(this.profile, [
        `lesson-check sandbox lab ${this.id} (source ${sourceName(this.state.source)})`,
        versionsNote,
      ]),
    );
  }

  // ---- the lesson's steps, performed on the sandbox ----

  /** The lesson's step: containerd, ctr and the runc shim into /usr/local/bin. */
  async installContainerd(): Promise<void> {
    const p = this.profile.paths;
    const tarball = this.asset('containerd');
    if (tarball) return installContainerdRelease(this.host, this.profile, tarball, this.state.release?.files.unit);
    const f = this.artifacts.files;
    for (const [src, dst] of [
      [f.containerd, p.containerd],
      [f.ctr, p.ctr],
      [f.shim, p.shim],
    ] as const) {
      await this.host.ensure(['install', '-D', '-m', '755', src, dst]);
    }
  }

  /** The lesson's step: `systemctl enable --now containerd`, as a supervised process. */
  async startContainerd(): Promise<void> {
    const p = this.profile.paths;
    for (const d of [join(this.state.prefix, 'run/containerd'), join(this.state.prefix, 'var/lib/containerd')])
      mkdirSync(d, { recursive: true });
    // containerd refuses a --config that does not exist; before the lesson writes one there is none
    const config = existsSync(p.configToml) ? p.configToml : '/dev/null';
    const argv = [
      p.containerd,
      '--config',
      config,
      '--root',
      join(this.state.prefix, 'var/lib/containerd'),
      '--state',
      join(this.state.prefix, 'run/containerd'),
      '--address',
      p.socket,
    ];
    this.host.note(`start supervised: PATH=${this.daemonPath()} ${argv.join(' ')}`);
    const pid = startDaemon(argv, {
      env: { PATH: this.daemonPath(), HOME: '/root' },
      logFile: join(this.own, 'containerd.log'),
    });
    writeFileSync(p.pidFile, `${pid}\n`);
    this.state.containerd = { pid };
    this.save();
    await awaitContainerd(this.host, this.profile, 20_000, () => {
      if (!isAlive(pid)) throw new Error(`containerd exited; see ${join(this.own, 'containerd.log')}`);
    });
  }

  async stopContainerd(): Promise<void> {
    if (!this.state.containerd) return;
    const how = await stopProcess(this.state.containerd.pid);
    this.host.note(`containerd ${this.state.containerd.pid}: ${how}`);
    this.state.containerd = undefined;
    this.save();
  }

  /** The lesson's step: `systemctl restart containerd`. */
  async restartContainerd(): Promise<void> {
    await this.stopContainerd();
    await this.startContainerd();
  }

  /** The lesson's step: `install -m 755 runc.amd64 /usr/local/sbin/runc`. */
  async installRunc(): Promise<void> {
    const mode = this.state.faults.includes('runc-not-executable') ? '644' : '755';
    await installRuncAsset(this.host, this.profile, this.asset('runc') ?? this.artifacts.files.runc, mode);
  }

  /** The lesson's step: its /etc/containerd/config.toml. */
  async writeConfig(): Promise<void> {
    await writeLessonConfig(this.host, this.profile, lessonConfigToml(this.state.faults));
  }

  private writeNerdctlNetwork(): void {
    const network = this.state.nerdctlNetwork;
    if (!network) return;
    mkdirSync(this.profile.paths.cniConfDir, { recursive: true });
    writeFileSync(
      join(this.profile.paths.cniConfDir, 'nerdctl-bridge.conflist'),
      nerdctlNetworkConflist(network, join(this.state.prefix, 'var/lib/cni/networks')),
    );
  }

  /** The lesson's step: `install -m 755 nerdctl /usr/local/bin`, then its bash completion. */
  async installNerdctl(): Promise<void> {
    const tarball = this.asset('nerdctl');
    if (!tarball) throw new Error('the apt source has no nerdctl');
    await installNerdctlRelease(this.host, this.profile, tarball, join(this.own, 'nerdctl'));
  }

  /** The lesson's step: every plugin of the release into /opt/cni/bin. */
  async installCniPlugins(): Promise<void> {
    const tarball = this.asset('cni');
    if (tarball) {
      await installCniRelease(this.host, this.profile, tarball);
      return this.writeNerdctlNetwork();
    }
    const dst = this.profile.paths.cniBinDir;
    await this.host.ensure(['mkdir', '-p', dst]);
    await this.host.ensure(['cp', '--no-preserve=ownership', '-R', `${this.artifacts.files.cniDir}/.`, dst]);
  }
}

/** nerdctl's default network ("bridge") for this lab, as nerdctl itself would write it but for
 * its bridge (`lc<id>n0`, not the host-wide `nerdctl0`), its subnet (free on this host, not
 * 10.4.0.0/24) and host-local's lease dir (inside the prefix): two labs at once, or a lab beside
 * a real nerdctl, never share a bridge, a subnet or leases. And no iptables: no masquerading (the
 * lab is offline) and no `firewall` plugin, whose chains are host-wide and outlive the lab.
 * Written with the CNI plugins, after N2 has seen nerdctl fail as on a fresh host, where no such file
 * exists yet. */
function nerdctlNetworkConflist(network: { bridge: string; subnet: string }, leaseDir: string): string {
  const [base] = network.subnet.split('/');
  const gateway = base!.replace(/\.0$/, '.1');
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'bridge',
      nerdctlID: createHash('sha256').update('bridge').digest('hex'),
      nerdctlLabels: { 'nerdctl/default-network': 'true' },
      plugins: [
        {
          type: 'bridge',
          bridge: network.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: leaseDir,
            ranges: [[{ gateway, subnet: network.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        // portmap touches iptables only for published ports (-p), which the lesson has none of
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'tuning' },
      ],
    },
    null,
    2,
  )}\n`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
