/**
 * argv builders for the lesson's clients, so that every check talks to the daemon the profile
 * names (socket, hosts dir, CNI dirs) without knowing where it is.
 */
import type { Host } from '../host/host.ts';
import { clip } from '../host/host-text.ts';
import type { Profile } from '../profile.ts';
import type { CommandResult, RunOptions } from '../host/transport.ts';

/** `ctr --address <socket> …`. */
export function ctr(profile: Profile, ...args: string[]): string[] {
  return [profile.paths.ctr, '--address', profile.paths.socket, ...args];
}

/** `ctr [--namespace NS] …` (undefined = containerd's "default", the lesson's namespace). */
export function ctrIn(profile: Profile, namespace: string | undefined, ...args: string[]): string[] {
  return ctr(profile, ...(namespace ? ['--namespace', namespace] : []), ...args);
}

/** `ctr [--namespace NS] run … IMAGE NAME …`; a sandbox adds its own runc root and cgroup parent. */
export function ctrRun(
  profile: Profile,
  opts: { namespace?: string; flags?: string[] },
  image: string,
  name: string,
  ...args: string[]
): string[] {
  const p = profile.paths;
  const sandbox = [
    ...(p.runcRoot ? ['--runc-root', p.runcRoot] : []),
    ...(p.cgroupParent ? ['--cgroup', `${p.cgroupParent}/${name}`] : []),
  ];
  return ctrIn(profile, opts.namespace, 'run', ...sandbox, ...(opts.flags ?? []), image, name, ...args);
}

/** Runs `ctr run --rm` of a container that prints and exits at once, as the lesson's hello does.
 * ctr 2.2.1 can lose such a container's output: when the task exits it deletes it, and the delete
 * cancels its readers while the output may still be in the shim's pipe (upstream fixed the same
 * race for `ctr exec` in containerd#13931; nerdctl waits for its readers). Measured on a lab: 0 of
 * 200 runs alone, 7 of 300 under load printed nothing and exited 0. So an empty stdout after exit 0
 * is run again, at most `runs` times in all, and the transcript says why; every other outcome
 * (a failure, or output of any kind) is the caller's to judge on the first run. nerdctl 2.2.1's
 * `run --rm` was seen to do the same under load (N3: 1 of 3 hosts graded at once on one lab). */
export async function ctrRunPrinting(
  host: Host,
  argv: string[],
  options: RunOptions & { runs?: number } = {},
): Promise<CommandResult> {
  const { runs = 3, ...runOptions } = options;
  for (let run = 1; ; run++) {
    const r = await host.run(argv, runOptions);
    if (r.exitCode !== 0 || r.stdout.trim() !== '' || run >= runs) return r;
    const tool = argv[0]!.split('/').pop()!;
    host.note(
      `${tool} run exited 0 and printed nothing: it can lose a short-lived container's output; ` +
        `run ${run + 1} of ${runs}`,
    );
  }
}

/** `ctr images pull [--hosts-dir DIR] REF`: a sandbox resolves the lesson's registries via hosts.toml. */
export function ctrPull(profile: Profile, ref: string, namespace?: string): string[] {
  const hostsDir = profile.paths.hostsDir ? ['--hosts-dir', profile.paths.hostsDir] : [];
  return ctrIn(profile, namespace, 'images', 'pull', ...hostsDir, ref);
}

const pulls = new Map<string, Promise<void>>();

/** Pulls `image` into `namespace` once for the whole run, however many checks ask at once: the
 * first pulls (the command lands in its transcript), the others wait for that pull and say so.
 * Concurrent pulls of one image into one namespace would contend for containerd's ingest locks. */
export async function pullOnce(host: Host, profile: Profile, image: string, namespace: string): Promise<void> {
  const key = `${namespace} ${image}`;
  const pending = pulls.get(key);
  if (pending) {
    host.note(`${image} is pulled into ${namespace} once for the run, by the first check that needs it`);
    return pending;
  }
  const pull = host.ensure(ctrPull(profile, image, namespace), { timeoutMs: 120_000 }).then(() => undefined);
  pulls.set(key, pull);
  // the checks waiting for a pull that failed fail with it; a check that asks later tries again
  void pull.catch(() => pulls.delete(key));
  return pull;
}

export interface NerdctlOptions {
  namespace?: string;
  /** Overrides of the profile's plugin dir, network config dir and data root. */
  cniPath?: string;
  netconfPath?: string;
  dataRoot?: string;
}

/** `nerdctl …` against the profile's daemon, data root and CNI dirs (or the overrides given). */
export function nerdctl(profile: Profile, opts: NerdctlOptions, ...args: string[]): string[] {
  const p = profile.paths;
  const hostsDir = p.hostsDir ? ['--hosts-dir', p.hostsDir] : [];
  const namespace = opts.namespace ? ['--namespace', opts.namespace] : [];
  return [
    p.nerdctl,
    '--address',
    p.socket,
    ...namespace,
    '--data-root',
    opts.dataRoot ?? p.nerdctlDataRoot,
    '--cni-path',
    opts.cniPath ?? p.cniBinDir,
    '--cni-netconfpath',
    opts.netconfPath ?? p.cniConfDir,
    ...hostsDir,
    ...args,
  ];
}

/** Runs `body` with nerdctl options for a probe. Inspecting (`scratch` names the probe), the probe
 * keeps nerdctl's own state in a temp dir of its own, removed afterwards even when cancelled:
 * nerdctl makes a folder per namespace in its network config dir and data root, which on the
 * host's would outlive the probe (and a verify changes nothing it did not create). Walking
 * (`scratch` undefined), it uses the host's, as the lesson does. */
export async function withNerdctlProbe<T>(
  host: Host,
  scratch: string | undefined,
  namespace: string | undefined,
  body: (opts: NerdctlOptions & { dir?: string }) => Promise<T>,
): Promise<T> {
  if (!scratch) return body({ namespace });
  const dir = await makePrivateDir(host, scratch);
  try {
    return await body({ namespace, dir, netconfPath: `${dir}/net.d`, dataRoot: `${dir}/data` });
  } finally {
    await host.uncancellable(() => host.anyhow(['rm', '-rf', '--', dir]));
  }
}

/** A new folder of the run's own on the host, `/tmp/<name>.XXXXXX`, made by mktemp: mode 0700 and
 * never one that was there (a path the host's root could guess, they could make first, or make a
 * link). In /tmp itself, whatever $TMPDIR says: the run's sweep looks there (helpers/run/run-traces.ts).
 * The path is the host's answer: one of any other shape is refused, not used. */
export async function makePrivateDir(host: Host, name: string): Promise<string> {
  const template = `/tmp/${name}.XXXXXX`;
  const dir = await host.capture(['mktemp', '-d', template]);
  const prefix = template.slice(0, -'XXXXXX'.length);
  if (dir.startsWith(prefix) && /^[A-Za-z0-9]{6}$/.test(dir.slice(prefix.length))) return dir;
  throw new Error(
    `\`mktemp -d ${template}\` printed ${JSON.stringify(clip(dir, 80))}, not the path of a new ` +
      `folder ${template}: is \`mktemp\` on the host the coreutils one? (\`command -v mktemp\` says which it is)`,
  );
}

/** Polls `ctr version` until the daemon answers on the profile's socket; `alive` may end the wait
 * early by throwing (the daemon exited). */
export async function awaitContainerd(
  host: Host,
  profile: Profile,
  limitMs: number,
  alive: () => void = () => undefined,
): Promise<void> {
  await host.poll(
    `containerd answering on ${profile.paths.socket}`,
    async () => {
      alive();
      const r = await host.transport.run(ctr(profile, 'version'), { timeoutMs: 5_000 });
      return r.exitCode === 0 ? true : undefined;
    },
    limitMs,
    50,
  );
}
