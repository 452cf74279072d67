/**
 * How the coach notices that the host changed without re-checking it: one `stat` of the paths
 * the lesson writes (the binaries, config.toml, the unit and its enabling link, the plugins, the
 * socket containerd makes anew at each start, the folder of its running containers), through
 * the host's transport — over ssh, one command on the shared connection. Its output changes
 * when a file appears, goes, is written or changes mode, when containerd restarts, and when a
 * container starts or stops; the checks run again only then.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import { type SshTransport, sshEnvironment } from '../host/ssh.ts';

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

/** Each path's name, inode, size, mtime, ctime (a chmod), mode and type. */
const STAT_FORMAT = '%n %i %s %Y %Z %a %F';

/** The host's state as the coach compares it: equal text, nothing to re-check. */
export async function fingerprint(host: Host, profile: Profile): Promise<string> {
  // a missing path says so on stderr
  const r = await host.run(['stat', '-c', STAT_FORMAT, '--', ...watchedPaths(profile)], {
    timeoutMs: 10_000,
  });
  return `${r.stdout}\n${r.stderr}\n${r.spawnError ?? ''}${r.timedOut ? 'timed out' : ''}`;
}

/** The line that ends each of the stream's fingerprints (no path of the lesson's prints it). */
const END = '--- lesson-check fingerprint ---';
/** How often the host prints it, and how much of one is read: a host that prints more (it is the
 * student's, and may) reads as changed each time, which costs it a look, never the grader memory. */
const STREAM_MS = 1_000;
const MAX_FINGERPRINT = 256 * 1024;

/**
 * Over ssh, the fingerprint as a stream: one command on the shared connection, started once,
 * prints it every second for as long as the watch lasts; `takeChange` says whether one differing
 * from the one before came since it was last asked. A watch over ssh used to start an ssh client
 * for every comparison, and that was most of an idle coach's cost (1.4 % of a core). The remote
 * loop ends when the connection or the client goes (its next write fails). While the stream is
 * not `live` (not started, or ended), the caller compares `fingerprint()`s as before.
 */
export class FingerprintStream {
  private child: ChildProcess | undefined;
  private buffer = '';
  private last: string | undefined;
  private changedSince = false;
  live = false;

  constructor(
    private readonly transport: SshTransport,
    private readonly profile: Profile,
    /** Called when a fingerprint differs from the one before. */
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Starts the stream; resolves once the first fingerprint came (the baseline), or the stream
   * could not start, or after 15 s. */
  async start(): Promise<void> {
    // the client's options for this host, as every other command of the transport has them
    await this.transport.prepare();
    const script = `while :; do stat -c '${STAT_FORMAT}' -- "$@" 2>&1; echo '${END}'; sleep ${STREAM_MS / 1000}; done`;
    const remote = this.transport.remoteCommand(['sh', '-c', script, 'sh', ...watchedPaths(this.profile)]);
    const child = spawn('ssh', [...this.transport.sshArgs(), '-n', '--', this.transport.target.host, remote], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: sshEnvironment(),
    });
    this.child = child;
    return new Promise<void>((ready) => {
      const timer = setTimeout(ready, 15_000);
      const done = () => {
        clearTimeout(timer);
        ready();
      };
      child.once('error', () => ((this.live = false), done()));
      child.once('exit', () => ((this.live = false), done()));
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        this.buffer += text;
        let end: number;
        while ((end = this.buffer.indexOf(`${END}\n`)) >= 0) {
          this.take(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + END.length + 1);
          this.live = true;
          done();
        }
        if (this.buffer.length > MAX_FINGERPRINT) {
          this.take(`more than ${MAX_FINGERPRINT} bytes at ${Date.now()}`);
          this.buffer = '';
        }
      });
    });
  }

  private take(fingerprint: string): void {
    if (this.last !== undefined && fingerprint !== this.last) {
      this.changedSince = true;
      this.onChange();
    }
    this.last = fingerprint;
  }

  /** Whether the host changed since the last call. */
  takeChange(): boolean {
    const changed = this.changedSince;
    this.changedSince = false;
    return changed;
  }

  stop(): void {
    this.live = false;
    this.child?.kill('SIGTERM');
  }
}
