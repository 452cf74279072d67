/**
 * How commands reach the host. A transport runs argv arrays (never a shell string built from
 * input) and returns what happened; it keeps every command and result for the report.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  argv: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  timeoutMs: number;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Cancels the command (the test timed out or the run was interrupted). */
  signal?: AbortSignal;
}

export interface Transport {
  readonly host: string;
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

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
      env: options.env ? { ...process.env, ...options.env } : process.env,
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
      return {
        argv,
        exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        durationMs: Math.round(performance.now() - started),
        timedOut,
        cancelled,
        spawnError: timedOut || cancelled ? undefined : spawnError,
        timeoutMs,
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Most a command may print on one stream: past it, the command is killed (a runaway). */
const MAX_OUTPUT = 64 * 1024 * 1024;

/** A stream's text, decoded as UTF-8 across chunk boundaries. */
function collect(stream: NodeJS.ReadableStream, onOverflow: () => void): { text: () => string } {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > MAX_OUTPUT) onOverflow();
  });
  return { text: () => text };
}

/** The command as a person would type it, for reports (quoted where needed). */
export function formatArgv(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The last lines of a stream, for failure messages. */
export function tail(text: string, lines = 8): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** One line saying how a command ended. */
export function describeResult(r: CommandResult): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `killed after ${r.timeoutMs} ms (timeout)`;
  if (r.cancelled) return `cancelled after ${r.durationMs} ms`;
  return `exit ${r.exitCode} after ${r.durationMs} ms`;
}

/** "`cmd` → exit 1 after 30 ms:\n<stderr tail>": the observed part of a failure about a command. */
export function observedCommand(r: CommandResult, lines = 6): string {
  const out = tail(r.stderr || r.stdout, lines);
  return `\`${formatArgv(r.argv)}\` → ${describeResult(r)}${out ? `:\n${out}` : ' (no output)'}`;
}
