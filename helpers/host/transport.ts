/**
 * How commands reach the host. A transport runs argv arrays (never a shell string built from
 * input) and returns what happened; it keeps every command and result for the report.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { visible, visibleLine } from './host-text.ts';

export interface CommandResult {
  argv: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Bytes of each stream past what is kept (KEPT_OUTPUT_BYTES): counted, not kept. */
  notKept?: { stdout: number; stderr: number };
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  /** Killed for printing more than DROPPED_OUTPUT_LIMIT past what is kept. */
  flooded?: boolean;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  timeoutMs: number;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  /** The command's whole environment, instead of this process's plus `env`. */
  exactEnv?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Cancels the command (the test timed out or the run was interrupted). */
  signal?: AbortSignal;
  /** Its output may hold secrets (Ansible's decrypted vaults): --verbose shows the command, not
   * what it prints. */
  secret?: boolean;
}

export interface Transport {
  readonly host: string;
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /** Ends what this process holds open on the host for its commands (ssh: its runner's session). */
  endSession?(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs commands on this machine, each in its own process group so a timeout kills them all. */
export class LocalTransport implements Transport {
  readonly host = 'local';

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('run: empty argv');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = performance.now();
    let timedOut = false;
    let cancelled = false;
    // detached puts the child at the head of a new process group: killing -pid reaches
    // grandchildren too. node:child_process itself, not execa: verify runs some sixty commands
    // from one thread, and execa's layers cost about 1 ms more per command (3.2 against 2.1 ms,
    // bench/RESULTS.md), which is most of what verify spends beyond the commands themselves.
    const child = spawn(file, args, {
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.exactEnv ?? (options.env ? { ...process.env, ...options.env } : process.env),
      cwd: options.cwd,
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      killGroup();
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const stdout = collect(child.stdout!, killGroup);
    const stderr = collect(child.stderr!, killGroup);
    if (verbose()) echoLive(argv, options.secret ? [] : [child.stdout!, child.stderr!]);
    // a command killed while something it started (in a session of its own, so out of its group's
    // reach) still holds its output open would keep 'close' away for ever: a killed command's
    // streams are let go of once it has exited, a moment later
    let letGo: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      if (timedOut || cancelled || stdout.overflowed() || stderr.overflowed())
        letGo = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, 500);
    });
    if (child.stdin) {
      // a command that exits without reading its input closes the pipe: not an error of ours
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
    try {
      const [exitCode, spawnError] = await new Promise<[number | null, string | undefined]>((done) => {
        child.once('error', (e) => done([null, e.message]));
        child.once('close', (code) => done([code, undefined]));
      });
      const notKept = { stdout: stdout.notKept(), stderr: stderr.notKept() };
      return {
        argv,
        exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        ...(notKept.stdout || notKept.stderr ? { notKept } : {}),
        ...(stdout.overflowed() || stderr.overflowed() ? { flooded: true } : {}),
        durationMs: Math.round(performance.now() - started),
        timedOut,
        cancelled,
        spawnError: timedOut || cancelled ? undefined : spawnError,
        timeoutMs,
      };
    } finally {
      clearTimeout(timer);
      clearTimeout(letGo);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** What is kept of each stream of a command, for the checks and the reports: far more than any
 * of the lesson's commands prints (`containerd config dump`, the largest, about 20 kB). What a
 * host prints beyond it is counted and dropped, so that a host flooding its output costs the
 * controller this much memory per command, however much it sends. */
export const KEPT_OUTPUT_BYTES = 1024 * 1024;
/** Past this much dropped output on one stream the command is killed (a runaway): reading it
 * costs time and CPU that the other hosts of a class share (through ssh here, about 20 MB/s of a
 * flood while a class of 8 runs on 2 cores). */
export const DROPPED_OUTPUT_LIMIT = 100_000_000;

/** A stream's first KEPT_OUTPUT_BYTES, decoded as UTF-8 (invalid bytes as U+FFFD), and the count
 * of the bytes after them. */
function collect(
  stream: NodeJS.ReadableStream,
  onOverflow: () => void,
): { text: () => string; notKept: () => number; overflowed: () => boolean } {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let dropped = 0;
  let overflowed = false;
  stream.on('data', (chunk: Buffer) => {
    const room = KEPT_OUTPUT_BYTES - keptBytes;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      kept.push(part);
      keptBytes += part.length;
    }
    dropped += Math.max(0, chunk.length - Math.max(0, room));
    if (dropped > DROPPED_OUTPUT_LIMIT && !overflowed) {
      overflowed = true;
      onOverflow();
    }
  });
  return {
    // a cut inside a UTF-8 sequence would end in U+FFFD: the cut falls before the sequence instead
    text: () => new TextDecoder().decode(dropped ? wholeSequences(Buffer.concat(kept)) : Buffer.concat(kept)),
    notKept: () => dropped,
    overflowed: () => overflowed,
  };
}

/** `bytes` without a UTF-8 sequence cut off at its end. */
export function wholeSequences(bytes: Buffer): Buffer {
  for (let i = bytes.length - 1, back = 0; i >= 0 && back < 4; i--, back++) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back + 1 ? bytes.subarray(0, i) : bytes;
  }
  return bytes;
}

/** "812.4 MB", "3.1 kB": a byte count as people read it. */
function sizeText(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} bytes`;
}

/** The command as a person would type it, for reports (quoted where needed). */
export function formatArgv(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Most of one line a failure message quotes: a host may print a megabyte without a newline. */
const TAIL_LINE_CHARS = 400;

/** The last lines of a stream, for failure messages, each cut to TAIL_LINE_CHARS. */
export function tail(text: string, lines = 8): string {
  const all = text.trimEnd().split('\n');
  return all
    .slice(-lines)
    .map((l) =>
      l.length > TAIL_LINE_CHARS ? `${l.slice(0, TAIL_LINE_CHARS)}… (${l.length - TAIL_LINE_CHARS} more)` : l,
    )
    .join('\n');
}

/** --verbose or LC_VERBOSE=1: every command a run starts, and its output, as it happens. */
export function verbose(): boolean {
  return process.env.LC_VERBOSE === '1';
}

/** --verbose, for a command whose output comes all at once (over an ssh runner): the command,
 * then its output (none for a secret command). */
export function echoAfter(argv: string[], r: CommandResult, secret: boolean | undefined): void {
  if (!verbose()) return;
  process.stderr.write(
    `$ ${visibleLine(formatArgv(argv))}${secret ? ' (output not shown: it may hold secrets)' : ''}\n`,
  );
  if (!secret) process.stderr.write(visible(r.stdout + r.stderr));
}

/** --verbose: the command, then its output as it comes, on stderr (this machine's own commands:
 * shown through host-text.ts all the same); no streams: a secret command's, not shown. */
function echoLive(argv: string[], streams: Readable[]): void {
  const withheld = streams.length ? '' : ' (output not shown: it may hold secrets)';
  process.stderr.write(`$ ${visibleLine(formatArgv(argv))}${withheld}\n`);
  for (const s of streams) s.on('data', (d: Buffer) => process.stderr.write(visible(d.toString())));
}

/** The cause of a check's error for time: "`id -u` did not answer within 30 s" (checks.ts). */
export const DID_NOT_ANSWER = 'did not answer within';

/** One line saying how a command ended, and what of its output was not kept. */
export function describeResult(r: CommandResult): string {
  const cut = r.notKept
    ? (['stdout', 'stderr'] as const)
        .filter((s) => r.notKept![s])
        .map((s) => `; ${s}: ${sizeText(r.notKept![s])} more not kept`)
        .join('')
    : '';
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `killed after ${r.timeoutMs} ms (timeout)${cut}`;
  if (r.cancelled) return `cancelled after ${r.durationMs} ms${cut}`;
  if (r.flooded)
    return `stopped after ${r.durationMs} ms: it printed more than ${sizeText(DROPPED_OUTPUT_LIMIT)}${cut}`;
  return `exit ${r.exitCode} after ${r.durationMs} ms${cut}`;
}

/** containerd 2.2's warning on every ctr and nerdctl call on a cgroup v1 host: the host's, not
 * the lesson's, and never why a command failed. The transcript keeps it. */
const CGROUP_V1_WARNING = /^.*level=warn(ing)? msg="DEPRECATION: The support for cgroup v1 is deprecated.*$\n?/gm;

/** "`cmd` → exit 1 after 30 ms:\n<stderr tail>": the observed part of a failure about a command. */
export function observedCommand(r: CommandResult, lines = 6): string {
  const out = tail((r.stderr.replace(CGROUP_V1_WARNING, '') || r.stdout).trimEnd(), lines);
  return `\`${formatArgv(r.argv)}\` → ${describeResult(r)}${out ? `:\n${out}` : ' (no output)'}`;
}
