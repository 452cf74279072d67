/**
 * The bridge probe (K4), which needs no nerdctl: a throwaway network namespace wired by the
 * host's own `bridge` + `host-local` plugins (CNI ADD), a `ctr run` podinfo container joined to
 * it, HTTP from the host to its IP; then everything undone (CNI DEL, netns, bridge, container).
 * What needs nothing from each other runs at once: the netns is wired while the image is pulled,
 * and the network and containerd are undone side by side. Every name carries the run id. podinfo
 * is pulled once into the run's containerd namespace, which other checks may be using at the
 * same time (nerdctl's): the end of the run removes that namespace with its images.
 */
import { isIPv4 } from 'node:net';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import { ctr, ctrRun, makePrivateDir, pullOnce } from './containerd.ts';
import { freeSubnet, netNames } from '../net/net-objects.ts';
import { claimForwarding, releaseForwarding } from '../net/forwarding.ts';
import { type HttpPoll, pollHttpGet } from './http.ts';
import { ipInSubnet } from '../net/ipv4.ts';
import { runLabel } from '../run/run-label.ts';

export interface ProbeNames {
  netns: string;
  bridge: string;
  container: string;
  namespace: string;
  /** host-local's data dir is `/tmp/<dataDir>.XXXXXX`, made by mktemp. */
  dataDir: string;
}

function probeNames(runId: string): ProbeNames {
  const n = netNames(runId);
  const container = runLabel(runId, 'k4');
  return {
    netns: `${n.netns}k4`,
    bridge: `${n.link}k4`,
    container,
    namespace: runLabel(runId),
    dataDir: `lesson-check-${container}`,
  };
}

/** What CNI ADD answered: the container's address (host text, as given; undefined when there was
 * none), the subnet host-local was given, and the answer itself. */
export interface Wiring {
  address: string | undefined;
  subnet: string;
  stdout: string;
}

type Undo = () => Promise<void>;

export class CniProbe {
  /** What to undo, in two chains that touch different things and so run at once, each newest
   * first: the network (CNI DEL, bridge, netns, IPAM dir, forwarding) and containerd (the
   * container). */
  private undo: { network: Undo[]; containerd: Undo[] } = { network: [], containerd: [] };
  readonly names: ProbeNames;

  constructor(
    private readonly host: Host,
    private readonly profile: Profile,
    private readonly runId: string,
  ) {
    this.names = probeNames(runId);
  }

  private cniEnv(command: 'ADD' | 'DEL'): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: this.names.container,
      CNI_NETNS: `/var/run/netns/${this.names.netns}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: this.profile.paths.cniBinDir,
    };
  }

  /** Wires the netns while podinfo is pulled, then runs podinfo in it unless CNI ADD gave no
   * usable address; returns what CNI ADD answered. */
  async start(): Promise<Wiring> {
    const [wiring] = await allOrFirstError([this.wire(), this.pullPodinfo()]);
    if (usableAddress(wiring)) await this.runPodinfo();
    return wiring;
  }

  /** Creates the netns and runs CNI ADD; returns what it answered. */
  private async wire(): Promise<Wiring> {
    const { host, names, undo } = this;
    // the bridge plugin turns on IPv4 forwarding for a gateway bridge: claimed below, and let go
    // last, once the bridge is gone; the last probe on this host to let go puts it back
    // (helpers/net/forwarding.ts)
    undo.network.push(async () => releaseForwarding(host, this.runId));
    // the netns and the bridge are undone whether or not their commands were seen to succeed: one
    // cancelled or timed out in flight (a coach's look cut short, over ssh) may still have made
    // them, and a netns left under the run's name fails every later probe of the run ("File
    // exists"). The two (the netns holds the container's end of the veth) need nothing from each other.
    undo.network.push(async () => {
      await Promise.all([
        host.anyhow(['ip', 'netns', 'delete', names.netns]),
        host.anyhow(['ip', 'link', 'delete', names.bridge]),
      ]);
    });
    // host-local keeps its leases here: a new folder of mktemp's, never a path the host's root
    // could guess and make first (or make a link); removed after CNI DEL, which reads it
    const privateDir = makePrivateDir(host, names.dataDir).then((dir) => {
      undo.network.push(async () => host.anyhow(['rm', '-rf', '--', dir]));
      return dir;
    });
    // four things that need nothing from each other
    const [, , subnet, dataDir] = await allOrFirstError([
      host.ensure(['ip', 'netns', 'add', names.netns]),
      claimForwarding(host, this.runId),
      freeSubnet(host),
      privateDir,
    ]);
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: names.container,
      type: 'bridge',
      bridge: names.bridge,
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir },
    });
    const bridge = `${this.profile.paths.cniBinDir}/bridge`;
    const add = await host.ensure([bridge], { env: this.cniEnv('ADD'), input: conf });
    undo.network.push(async () => host.anyhow([bridge], { env: this.cniEnv('DEL'), input: conf }));
    return { address: firstAddress(add.stdout), subnet, stdout: add.stdout };
  }

  /** Pulls podinfo into the run's own containerd namespace (once for the run). */
  private async pullPodinfo(): Promise<void> {
    const { host, profile, names } = this;
    await pullOnce(host, profile, profile.images.podinfo, names.namespace);
  }

  /** Runs podinfo, detached, in the probe's netns. */
  private async runPodinfo(): Promise<void> {
    const { host, profile, names } = this;
    this.undo.containerd.push(async () => {
      await host.anyhow(ctr(profile, '--namespace', names.namespace, 'tasks', 'delete', '--force', names.container));
      await host.anyhow(ctr(profile, '--namespace', names.namespace, 'containers', 'delete', names.container));
    });
    await host.ensure(
      ctrRun(
        profile,
        { namespace: names.namespace, flags: ['--detach', '--with-ns', `network:/var/run/netns/${names.netns}`] },
        profile.images.podinfo,
        names.container,
      ),
      { timeoutMs: 60_000 },
    );
  }

  /** Undoes everything, each chain newest first, the two chains at once, even when the check
   * was cancelled; never throws. */
  async cleanup(): Promise<void> {
    const unwind = async (chain: Undo[]) => {
      for (const undo of chain.reverse()) await undo().catch(() => undefined);
    };
    const { network, containerd } = this.undo;
    this.undo = { network: [], containerd: [] };
    await this.host.uncancellable(() => Promise.all([unwind(network), unwind(containerd)]));
  }
}

/** The first address of a CNI ADD result (`ips[0].address`, `a.b.c.d/len`) without its prefix
 * length, as given; undefined when the answer holds none. */
function firstAddress(stdout: string): string | undefined {
  let result: unknown;
  try {
    result = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const address = (result as { ips?: Array<{ address?: unknown }> } | null)?.ips?.[0]?.address;
  return typeof address === 'string' ? address.replace(/\/\d{1,2}$/, '') : undefined;
}

/** The address CNI ADD gave when it is one to use: IPv4, and in the subnet host-local was given. */
function usableAddress({ address, subnet }: Wiring): string | undefined {
  return address !== undefined && isIPv4(address) && ipInSubnet(address, subnet) ? address : undefined;
}

export interface BridgeProbe {
  wiring: Wiring;
  /** Polled only when CNI ADD gave a usable address. */
  answer?: { url: string; http: HttpPoll };
}

/** The whole probe: wire the netns and run podinfo in it, GET / until it answers or a deadline
 * passes, and undo everything. An address CNI ADD gave that is no IPv4 address in the probe's
 * subnet (host text) is neither used nor polled. */
export async function bridgeProbe(host: Host, profile: Profile, runId: string): Promise<BridgeProbe> {
  const probe = new CniProbe(host, profile, runId);
  try {
    const wiring = await probe.start();
    const ip = usableAddress(wiring);
    if (ip === undefined) return { wiring };
    const url = `http://${ip}:${profile.expect.podinfoPort}/`;
    return { wiring, answer: { url, http: await pollHttpGet(host, url) } };
  } finally {
    await probe.cleanup();
  }
}

/** Like Promise.all, but waits for every promise to settle before throwing the first error, so
 * that nothing is still being made (and not yet registered for undoing) when cleanup starts. */
async function allOrFirstError<T extends readonly unknown[]>(
  promises: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(promises as ReadonlyArray<Promise<unknown>>);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
