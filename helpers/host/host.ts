/**
 * The command vocabulary every suite and helper uses: `run` returns the result and never throws,
 * `ensure` throws when the command fails, `capture` returns trimmed stdout, `anyhow` ignores the
 * result (cleanup only). Every command lands in the
 * transcript of whatever check is running: checks of one stage may run at once, so each check's
 * commands are told apart by the async context they run in (`Host.within`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import { type CommandResult, type RunOptions, type Transport, describeResult, formatArgv, tail } from './transport.ts';

export interface TranscriptEntry {
  command: string;
  outcome: string;
  exitCode: number | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  note?: string;
  /** Killed by its timeout (its limit, in ms): what it would have printed is unknown, not absent. */
  timedOutAfterMs?: number;
}

/** Thrown by `ensure`/`capture`: carries the result for the failure report. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly result: CommandResult,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The check a command belongs to: its transcript, and the signal that cancels its commands. */
interface Scope {
  transcript: TranscriptEntry[];
  signal: AbortSignal | undefined;
}

export class Host {
  private readonly scope = new AsyncLocalStorage<Scope>();
  /** Commands run outside any check (set-up, teardown) since the last `takeTranscript()`. */
  private readonly outside: Scope = { transcript: [], signal: undefined };

  constructor(readonly transport: Transport) {}

  get name(): string {
    return this.transport.host;
  }

  /** Cancels the commands run outside any check (the lab's set-up on Ctrl-C). */
  set signal(signal: AbortSignal | undefined) {
    this.outside.signal = signal;
  }

  /** Runs `body` (one check) so that every command it runs, however concurrent with other
   * checks' commands, lands in `transcript`, and `signal` cancels them. */
  within<T>(transcript: TranscriptEntry[], signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
    return this.scope.run({ transcript, signal }, body);
  }

  /** Runs `body` (an undo) in the current check's transcript, but beyond the reach of its
   * cancellation: a check that timed out still removes what it made. */
  uncancellable<T>(body: () => Promise<T>): Promise<T> {
    return this.scope.run({ transcript: this.current().transcript, signal: undefined }, body);
  }

  private current(): Scope {
    return this.scope.getStore() ?? this.outside;
  }

  /** Whether the current scope's commands are cancelled (a deadline, Ctrl-C): a loop over a
   * host's list stops there instead of starting commands that end at once. */
  get stopped(): boolean {
    return this.current().signal?.aborted === true;
  }

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const scope = this.current();
    const r = await this.transport.run(argv, { signal: scope.signal, ...options });
    scope.transcript.push({
      command: formatArgv(argv),
      outcome: describeResult(r),
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      stdout: forTranscript(r.stdout),
      stderr: forTranscript(r.stderr),
      ...(r.timedOut ? { timedOutAfterMs: r.timeoutMs } : {}),
    });
    return r;
  }

  async ensure(argv: string[], options?: RunOptions): Promise<CommandResult> {
    const r = await this.run(argv, options);
    if (r.exitCode !== 0) {
      throw new CommandError(`\`${formatArgv(argv)}\` failed: ${describeResult(r)}\n${tail(r.stderr || r.stdout)}`, r);
    }
    return r;
  }

  async capture(argv: string[], options?: RunOptions): Promise<string> {
    return (await this.ensure(argv, options)).stdout.trim();
  }

  async anyhow(argv: string[], options?: RunOptions): Promise<void> {
    await this.run(argv, options);
  }

  /** Adds a line to the transcript that is not a command (a step, an HTTP request). */
  note(text: string): void {
    this.current().transcript.push({
      command: `# ${text}`,
      outcome: '',
      exitCode: null,
      durationMs: 0,
      stdout: '',
      stderr: '',
    });
  }

  /** The commands run outside any check since the last call. */
  takeTranscript(): TranscriptEntry[] {
    return this.outside.transcript.splice(0);
  }

  /** Reads a file through the transport (so a remote host works the same way). */
  async readFile(path: string): Promise<string | undefined> {
    const r = await this.run(['cat', '--', path]);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /** mode (octal string), size, mtime (epoch seconds) and type of a path, or undefined when absent. */
  async stat(path: string): Promise<FileStat | undefined> {
    return (await this.statAll([path])).get(path);
  }

  /** `stat` of several paths in one command; absent paths map to undefined. */
  async statAll(paths: string[]): Promise<Map<string, FileStat | undefined>> {
    // stat reports each path it finds on a line of its own, in order, and the others on stderr
    const r = await this.run(['stat', '-L', '-c', '%a|%s|%Y|%F|%n', '--', ...paths]);
    const found = new Map<string, FileStat | undefined>(paths.map((p) => [p, undefined]));
    for (const line of r.stdout.split('\n')) {
      const [mode = '', size = '0', mtime = '0', type = '', ...name] = line.split('|');
      if (name.length)
        found.set(name.join('|'), { mode: mode.padStart(4, '0'), size: Number(size), mtime: Number(mtime), type });
    }
    return found;
  }

  /** Polls `probe` until it returns a value, or fails naming what was awaited and the last
   * observation; stops at once when the current scope's signal is aborted (its commands are
   * cancelled then, and a poll of them would only spin until its limit: a machine told to stop
   * while its VM booted waited out the 300 s of the wait for its sshd). */
  async poll<T>(
    what: string,
    probe: () => T | undefined | Promise<T | undefined>,
    limitMs: number,
    intervalMs = 50,
  ): Promise<T> {
    const started = Date.now();
    let attempts = 0;
    let last: string | undefined;
    const signal = this.current().signal;
    for (;;) {
      if (signal?.aborted) throw new Error(`${what}: stopped (${String(signal.reason)})`);
      attempts++;
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (e) {
        last = e instanceof Error ? e.message : inspect(e);
      }
      const elapsed = Date.now() - started;
      if (elapsed >= limitMs) {
        const tried = `not reached after ${elapsed} ms (limit ${limitMs} ms, ${attempts} attempts)`;
        throw new Error(`${what}: ${tried}${last ? `; last: ${last}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** What a report keeps of one stream of one command: the checks saw up to KEPT_OUTPUT_BYTES, the
 * reports of a class hold some sixty commands per host. */
const TRANSCRIPT_CHARS = 64 * 1024;

function forTranscript(text: string): string {
  return text.length <= TRANSCRIPT_CHARS
    ? text
    : `${text.slice(0, TRANSCRIPT_CHARS)}\n… ${text.length - TRANSCRIPT_CHARS} characters more not kept in the report`;
}

export interface FileStat {
  mode: string;
  size: number;
  mtime: number;
  type: string;
}
