/**
 * The ssh transport: a target's commands through the user's own OpenSSH client (so ~/.ssh/config,
 * agents, jump hosts and known_hosts work as usual), in BatchMode (never a prompt), over one
 * reused connection per host. The target needs nothing but a POSIX shell and the lesson's tools.
 * argv is quoted once, for the remote shell, so every argument arrives as one literal word; a
 * user other than root runs each command through `sudo -n` (never a password prompt).
 *
 * A graded host's root is its student: ssh carries nothing of the grader's there, whatever the
 * grader's ssh_config says. No agent, X11, port or tunnel forwarding, no Kerberos delegation, no
 * local command; and the client runs with an environment of its own (sshEnvironment), so that no
 * variable of the grader's or of lesson-check's (LC_*, LANG, which Debian's `SendEnv LANG LC_*`
 * would send) can reach the host. Host keys are checked as the grader's config says; where it
 * says not to (hostKeyUnchecked), the reports say so.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner, RunnerUnavailable } from './ssh-runner.ts';
import { type CommandResult, LocalTransport, type RunOptions, type Transport, echoAfter } from './transport.ts';

export interface SshTarget {
  /** The name reports use (the inventory's host name, or the URL's host). */
  name: string;
  host: string;
  user?: string;
  port?: number;
  identityFile?: string;
  /** More ssh client options (an inventory's ansible_ssh_common_args and _extra_args), one word each. */
  sshOptions?: string[];
  /** Who runs the commands there: `sudo -n` to root for a user other than root (the default), to
   * `user` (ansible_become_user), or no sudo at all (ansible_become false). */
  become?: { user?: string } | false;
}

/** `ssh://[user@]host[:port]` → a target. */
export function parseSshUrl(url: string, name?: string): SshTarget {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (!m) throw new Error(`not a target: ${url} (write ssh://[user@]host[:port])`);
  const host = m[2]!.replace(/^\[|\]$/g, '');
  return { name: name ?? host, host, user: m[1], port: m[3] ? Number(m[3]) : undefined };
}

/** One word for a POSIX shell, whatever it holds: spaces, quotes, $(…), ;, newlines. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** shellQuote's word on one line, for the runner (ssh-runner.ts): a newline inside it is written
 * `"$nl"`, which the runner's shell expands to one. */
export function oneLineQuote(arg: string): string {
  return arg.includes('\n') ? arg.split('\n').map(shellQuote).join('"$nl"') : shellQuote(arg);
}

/** Whatever the grader's ssh_config or inventory asks for: nothing forwarded to the host (an agent
 * there lets its root log in wherever the grader's key does: every classmate's VM), no command run
 * here on connecting, no terminal. */
const NOTHING_OF_THE_GRADERS = [
  'ForwardAgent=no',
  'ForwardX11=no',
  'ForwardX11Trusted=no',
  'ClearAllForwardings=yes',
  'Tunnel=no',
  'GSSAPIDelegateCredentials=no',
  'PermitLocalCommand=no',
  'RequestTTY=no',
].flatMap((o) => ['-o', o]);

/**
 * The ssh client's environment: PATH alone (for a ProxyCommand or ProxyJump to find its
 * programs). Whatever else the client has, a `SendEnv *` in the grader's config would send, and a
 * student's `AcceptEnv *` take: even SSH_AUTH_SOCK, whose path tells of the grader's machine. The
 * agent is handed to ssh as IdentityAgent instead (agentOption); ssh finds the user's home and
 * name from the password database, not from HOME or USER.
 */
export function sshEnvironment(): NodeJS.ProcessEnv {
  return process.env.PATH === undefined ? {} : { PATH: process.env.PATH };
}

/** The agent the grader logs in with (SSH_AUTH_SOCK), as an option: used to log in, never
 * forwarded (ForwardAgent=no) nor sent. `%` is ssh's token character there. */
function agentOption(): string[] {
  const socket = process.env.SSH_AUTH_SOCK;
  return socket ? ['-o', `IdentityAgent="${socket.replace(/%/g, '%%')}"`] : [];
}

/** What lesson-check needs of `ssh -G`'s answer. */
export interface EffectiveConfig {
  strictHostKeyChecking: string | undefined;
  /** The SendEnv patterns, as ssh_config's globs. */
  sendEnv: string[];
}

function readEffectiveConfig(text: string): EffectiveConfig {
  return {
    strictHostKeyChecking: /^stricthostkeychecking (\S+)$/m.exec(text)?.[1],
    sendEnv: [...text.matchAll(/^sendenv (\S+)$/gm)].map((m) => m[1]!),
  };
}

/** ssh_config's pattern matching: `*` and `?`. */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/** ssh exits 255 when it could not reach or log in to the host. */
const SSH_FAILED = 255;

/** Commands at once on one host: inspecting runs a stage's checks, and their commands, at once.
 * Through the runner they share one session; a host without it gets a session per command on the
 * shared connection, and sshd allows 10 per connection by default (MaxSessions). */
const MAX_SESSIONS = 8;

const DEFAULT_TIMEOUT_MS = 30_000;

export class SshTransport implements Transport {
  readonly host: string;
  private readonly local = new LocalTransport();
  /** Where the shared connection's socket lives: given by the run's owner, so that the suites'
   * process reuses the connection the CLI opened, and the CLI closes it. */
  readonly controlDir: string;
  private sessions = 0;
  private readonly waiting: Array<() => void> = [];
  /** What ssh will do, read once (`ssh -G`) before the first connection. */
  private effective?: Promise<EffectiveConfig>;
  /** Whether the agent may be handed to ssh: not where the config would send its path (SendEnv). */
  private agentAllowed = false;
  /** The session that runs this process's commands on the host (ssh-runner.ts), once opened. */
  private runner?: Promise<Runner>;
  /** Why this host's commands each get a session of their own (the runner could not start
   * there), once known. */
  private direct?: string;
  private closing = false;

  constructor(
    readonly target: SshTarget,
    controlDir?: string,
  ) {
    this.host = target.name;
    this.controlDir = controlDir ?? mkdtempSync(join(tmpdir(), 'lc-ssh-'));
    mkdirSync(this.controlDir, { recursive: true, mode: 0o700 });
  }

  /** The ssh client's own options: batch mode, a shared connection, the target's port and key. */
  sshArgs(): string[] {
    const t = this.target;
    return [
      // LC_SSH_CONFIG: an ssh_config to use instead of ~/.ssh/config (the project's tests use one)
      ...(process.env.LC_SSH_CONFIG ? ['-F', process.env.LC_SSH_CONFIG] : []),
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'ServerAliveInterval=15',
      // one connection per host, reused by every command of the run (%C: a hash of host, port, user)
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${join(this.controlDir, '%C')}`,
      '-o',
      'ControlPersist=60',
      // ssh takes the first value it finds: these come before any config file's and the inventory's
      ...NOTHING_OF_THE_GRADERS,
      ...(this.agentAllowed ? agentOption() : []),
      ...(t.port ? ['-p', String(t.port)] : []),
      ...(t.identityFile ? ['-i', t.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
      ...(t.user ? ['-l', t.user] : []),
      ...(t.sshOptions ?? []),
    ];
  }

  /** The command line the remote shell runs: [cd DIR &&] [sudo -n] [env K=V …] argv, each word quoted. */
  remoteCommand(argv: string[], options: RunOptions = {}, quote = shellQuote): string {
    const t = this.target;
    const to = t.become === false ? undefined : (t.become?.user ?? (t.user && t.user !== 'root' ? 'root' : undefined));
    const sudo = !to || to === t.user ? [] : to === 'root' ? ['sudo', '-n', '--'] : ['sudo', '-n', '-u', to, '--'];
    const env =
      options.env && Object.keys(options.env).length
        ? ['env', ...Object.entries(options.env).map(([k, v]) => `${k}=${v}`)]
        : [];
    const words = [...sudo, ...env, ...argv].map(quote).join(' ');
    return options.cwd ? `cd ${quote(options.cwd)} && ${words}` : words;
  }

  /**
   * The client's effective config for this host, read once: `ssh -G` (no connection) with the
   * grader's config and the inventory's options. It decides whether the agent may be used (ssh
   * sets SSH_AUTH_SOCK for IdentityAgent, and a SendEnv pattern that matches it would send the
   * grader's socket path to the host) and whether host keys are checked.
   */
  prepare(): Promise<EffectiveConfig> {
    this.effective ??= this.local
      .run(['ssh', ...this.sshArgs(), '-G', '--', this.target.host], { timeoutMs: 5_000, exactEnv: sshEnvironment() })
      .then((r) => {
        const config = readEffectiveConfig(r.stdout);
        this.agentAllowed = !config.sendEnv.some((pattern) => globMatches(pattern, 'SSH_AUTH_SOCK'));
        return config;
      });
    return this.effective;
  }

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    await this.prepare();
    // a slot of its own, or one handed over by a command that ends
    if (this.sessions < MAX_SESSIONS) this.sessions++;
    else await new Promise<void>((turn) => this.waiting.push(turn));
    let r: CommandResult;
    try {
      r =
        this.direct === undefined && !this.closing && process.env.LC_SSH_RUNNER !== '0'
          ? await this.runInRunner(argv, options)
          : await this.runAlone(argv, options);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.sessions--;
    }
    // report the command as the check meant it, not the ssh wrapper around it
    return {
      ...r,
      argv,
      spawnError:
        r.spawnError ?? (r.exitCode === SSH_FAILED ? `ssh to ${this.target.host}: ${sshFailure(r.stderr)}` : undefined),
    };
  }

  /** A command in a session of its own: the login shell runs it (and whatever its rc files do). */
  private runAlone(argv: string[], options: RunOptions): Promise<CommandResult> {
    return this.local.run(['ssh', ...this.sshArgs(), '--', this.target.host, this.remoteCommand(argv, options)], {
      timeoutMs: options.timeoutMs,
      input: options.input,
      signal: options.signal,
      exactEnv: sshEnvironment(),
    });
  }

  /** A command through the host's runner. */
  private async runInRunner(argv: string[], options: RunOptions): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = performance.now();
    let runner: Runner;
    try {
      runner = await this.openRunner();
    } catch (e) {
      if (!(e instanceof RunnerUnavailable)) throw e;
      // unreachable: as ssh alone would have said it
      if (e.result?.exitCode === SSH_FAILED) return this.sessionFailed(argv, e, started, timeoutMs);
      // the host lacks what the runner needs, or its login would not start it (a ForceCommand,
      // a shell of another kind): its commands each get a session, as before the runner
      this.direct ??= e.message;
      return this.runAlone(argv, options);
    }
    try {
      const r = await runner.run(argv, this.remoteCommand(argv, options, oneLineQuote), options, timeoutMs);
      echoAfter(argv, r, options.secret);
      return r;
    } catch (e) {
      if (!(e instanceof RunnerUnavailable)) throw e;
      return this.sessionFailed(argv, e, started, timeoutMs);
    }
  }

  /** The host's runner: the one open, or one opened now. While one opens, every command waits
   * for it: an unreachable host gives them all the one reason of that one attempt. */
  private openRunner(): Promise<Runner> {
    const current = this.runner;
    const open = (): Promise<Runner> => {
      const runner = new Runner(['ssh', ...this.sshArgs(), '--', this.target.host], shellQuote, sshEnvironment());
      const opening = runner.started.then(() => runner);
      this.runner = opening;
      // a session that failed to open is tried again by the next command, not this one's waiters
      opening.catch(() => {
        if (this.runner === opening) this.runner = undefined;
      });
      return opening;
    };
    if (!current) return open();
    return current.then((r) => (r.alive ? r : this.runner && this.runner !== current ? this.runner : open()));
  }

  /** A command whose session ended under it, or never opened: as ssh alone would have ended it. */
  private sessionFailed(argv: string[], e: RunnerUnavailable, started: number, timeoutMs: number): CommandResult {
    return {
      argv,
      exitCode: e.result?.exitCode ?? null,
      stdout: '',
      stderr: e.result?.stderr ?? '',
      durationMs: Math.round(performance.now() - started),
      timedOut: false,
      cancelled: false,
      spawnError: e.result?.exitCode === SSH_FAILED ? undefined : `ssh to ${this.target.host}: ${e.message}`,
      timeoutMs,
    };
  }

  /**
   * Why this host's key is not checked, as ssh will connect (`ssh -G`: the grader's config, the
   * inventory's options): StrictHostKeyChecking no, or accept-new (a key not yet known is taken on
   * trust); undefined when it is (BatchMode refuses a key it does not know).
   */
  async hostKeyUnchecked(): Promise<string | undefined> {
    const policy = (await this.prepare()).strictHostKeyChecking;
    if (policy === 'false' || policy === 'no' || policy === 'off')
      return 'host key not checked (StrictHostKeyChecking no): whoever answered at its address was graded';
    if (policy === 'accept-new')
      return 'host key trusted on first use (StrictHostKeyChecking accept-new) unless known_hosts had it';
    return undefined;
  }

  /** Why the grader's agent was not handed to ssh for this host, if it was not (after prepare). */
  get agentWithheld(): string | undefined {
    return process.env.SSH_AUTH_SOCK && this.effective && !this.agentAllowed
      ? 'your agent was not used: a SendEnv pattern of your ssh config matches SSH_AUTH_SOCK, whose path ' +
          'it would send to the host (give the key as ansible_ssh_private_key_file, or narrow SendEnv)'
      : undefined;
  }

  /** Why this host's commands run one session each, if they do (the runner could not start). */
  get withoutRunner(): string | undefined {
    return this.direct;
  }

  /** Ends this process's session on the host (its runner removes its folder there); the shared
   * connection stays for whoever else uses it. A later command opens a new session. */
  async endSession(): Promise<void> {
    const runner = await this.runner?.catch(() => undefined);
    await runner?.close();
  }

  /** Ends the runner (it removes its folder on the host), the shared connection, and its socket dir. */
  async close(): Promise<void> {
    this.closing = true;
    await this.endSession();
    await this.local.run(['ssh', ...this.sshArgs(), '-O', 'exit', this.target.host], {
      timeoutMs: 5_000,
      exactEnv: sshEnvironment(),
    });
    rmSync(this.controlDir, { recursive: true, force: true });
  }
}

/**
 * What ssh said when it failed, on one line: its last few lines, since through a jump host the
 * cause ("connect to host bastion port 22: …") comes before the generic last line.
 */
function sshFailure(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length ? lines.slice(-3).join('; ') : 'ssh exited 255 and said nothing';
}
