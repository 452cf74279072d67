/**
 * One ssh session that runs all of a host's commands: a small POSIX shell loop on the host (sent
 * as the session's command: nothing installed there, its temp folder removed when it ends), fed
 * one command per line, running them at once, and answering each with a framed, bounded result.
 *
 * Why: sshd starts every command through the login user's shell, and bash (as Debian builds it)
 * reads ~/.bashrc for every command that sshd starts. A student's .bashrc (pyenv, conda, nvm…)
 * then costs each of a verify's ~70 commands: 0.13 s alone here, 0.45 s when eight start at once
 * on 2 cores (bench/RESULTS.md), and whatever it prints lands in the command's output. The
 * runner pays it once per session, and what it prints comes before the runner's first word.
 *
 * The guarantees of a command over ssh hold: argv arrives as the same quoted words
 * (SshTransport.remoteCommand), run by `sh` rather than the login shell; each command has its
 * deadline there (`timeout`, which kills its process group) and here (its answer is given up);
 * each stream keeps KEPT_OUTPUT_BYTES and counts the rest up to a limit where the command is
 * stopped, as locally; what the host answers is parsed strictly and bounded, and anything else
 * ends the session (the host's error, never lesson-check's).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  type CommandResult,
  DROPPED_OUTPUT_LIMIT,
  KEPT_OUTPUT_BYTES,
  type RunOptions,
  wholeSequences,
} from './transport.ts';

/**
 * The loop, run as `sh -c SCRIPT lesson-check-runner NONCE KEPT LIMIT`. A request is one line:
 * `ID SECONDS INPUT COMMAND`: the input in base64 (`-`: none), then the command line quoted as
 * for any shell, on one line (a newline inside a word is `"$nl"`: oneLineQuote). Each request
 * runs as a job of its own; its answer is `LCR NONCE ID STATUS STDOUT-BYTES STDERR-BYTES`, then
 * each stream's first KEPT bytes in base64, each ended by a line `.`, written whole under a lock
 * (flock), so that answers never interleave. A job's streams go to files in the loop's own folder,
 * bounded by `ulimit -f` (past it, the command dies of SIGXFSZ: a flood stopped there, as
 * LocalTransport stops one here); `timeout` kills the command's process group at its deadline.
 * A command costs a few processes more than it does locally (timeout, sh, wc and base64 for a
 * stream with output, flock, cat): a few milliseconds, not a session and a login shell.
 */
export const RUNNER_SCRIPT = `n=$1 k=$2 l=$3
nl='
'
export nl
for t in base64 mktemp head wc timeout flock cat; do
  command -v "$t" >/dev/null 2>&1 || { printf '\\nLCR %s lacks %s\\n' "$n" "$t"; exit 0; }
done
d=$(mktemp -d "\${TMPDIR:-/tmp}/lesson-check-runner.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
trap 'exit 129' HUP INT TERM PIPE
: >"$d/lock"
blocks=$(( l / 512 + 1 ))
size() { s=0; [ -s "$1" ] && s=$(( $(wc -c <"$1") )); }
emit() { if [ "$2" -gt "$k" ]; then head -c "$k" "$1" | base64; elif [ "$2" -gt 0 ]; then base64 "$1"; fi; echo .; }
job() {
  f=$d/$1 i=/dev/null
  if [ "$3" != - ]; then printf '%s' "$3" | base64 -d >"$f.i" 2>/dev/null || return; i=$f.i; fi
  (ulimit -f "$blocks"; exec timeout -k 2 "$2" sh -c "$4") <"$i" >"$f.o" 2>"$f.e"
  rc=$?
  size "$f.o"; o=$s; size "$f.e"; e=$s
  { printf 'LCR %s %s %s %s %s\\n' "$n" "$1" "$rc" "$o" "$e"; emit "$f.o" "$o"; emit "$f.e" "$e"; } >"$f.a"
  flock "$d/lock" cat "$f.a"
  rm -f "$f.i" "$f.o" "$f.e" "$f.a"
}
printf '\\nLCR %s ready\\n' "$n"
while read -r id secs input line; do
  job "$id" "$secs" "$input" "$line" </dev/null &
done
wait
`;

/** Why a runner could not serve a command: its session could not be opened (ssh's exit and
 * words), ended, or the host lacks a tool the loop needs (then each command gets a session). */
export class RunnerUnavailable extends Error {
  constructor(
    message: string,
    readonly result?: { exitCode: number | null; stderr: string },
    readonly lacks?: string,
  ) {
    super(message);
  }
}

/** Each stream's file on the host is bounded to this (ulimit -f, in 512-byte blocks). */
const FILE_LIMIT = KEPT_OUTPUT_BYTES + DROPPED_OUTPUT_LIMIT;
/** What the host may print before the runner's first word (its .bashrc, a motd): skipped, bounded. */
const BEFORE_READY_LIMIT = 64 * 1024;
/** A session may take this long to open and start (ConnectTimeout is 10 s). */
const START_DEADLINE_MS = 20_000;
/** After a command's deadline the host's `timeout` kills it (2 s later at worst) and the job
 * answers: past this much more, its answer is given up (and dropped when it comes). */
const ANSWER_GRACE_MS = 5_000;
/** One answer's stream in base64: a stream's KEPT bytes and their line breaks, with room to spare. */
const STREAM_TEXT_LIMIT = Math.ceil((KEPT_OUTPUT_BYTES * 4) / 3) + KEPT_OUTPUT_BYTES / 20 + 1024;
const BASE64_LINE_LIMIT = 200;
/** What is kept of the session's own stderr (ssh's reason when it fails). */
const STDERR_KEPT = 16 * 1024;
/** Answers given up (timed out, cancelled) whose late arrival is still expected and dropped. */
const GIVEN_UP_KEPT = 1024;

interface Pending {
  argv: string[];
  timeoutMs: number;
  started: number;
  done: (r: CommandResult) => void;
  fail: (e: Error) => void;
  timer: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort: () => void;
}

/** One session and its loop on the host: every command of this process for that host. */
export class Runner {
  private readonly child: ChildProcess;
  private readonly nonce = randomBytes(8).toString('hex');
  private buffer = '';
  private stderr = '';
  private ready = false;
  private ended = false;
  private readonly pending = new Map<number, Pending>();
  private readonly givenUp = new Set<number>();
  private nextId = 1;
  /** Settles once the loop says it is ready, or why it never will be. */
  readonly started: Promise<void>;
  private markStarted!: () => void;
  private markFailed!: (e: Error) => void;
  /** Settles once the ssh client has exited. */
  readonly exited: Promise<void>;

  /** `sshCommand`: the ssh client's argv up to the host; `quote`: one word for the remote shell. */
  constructor(sshCommand: string[], quote: (word: string) => string, env: NodeJS.ProcessEnv) {
    this.started = new Promise<void>((ok, fail) => {
      this.markStarted = ok;
      this.markFailed = fail;
    });
    // awaited later, or never (a session that ends at once)
    this.started.catch(() => undefined);
    const remote = [
      'sh',
      '-c',
      RUNNER_SCRIPT,
      'lesson-check-runner',
      this.nonce,
      `${KEPT_OUTPUT_BYTES}`,
      `${FILE_LIMIT}`,
    ]
      .map(quote)
      .join(' ');
    const [file, ...args] = sshCommand;
    // a process group of its own (killed whole); stdin a pipe that closes when this process ends,
    // however it ends: the loop then reads its end, lets its jobs finish and removes its folder
    this.child = spawn(file!, [...args, `exec ${remote}`], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (d: string) => this.read(d));
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_KEPT);
    });
    this.exited = new Promise((gone) => {
      this.child.once('error', (e) => {
        this.end(new RunnerUnavailable(`ssh could not start: ${e.message}`));
        gone();
      });
      this.child.once('close', (code) => {
        this.end(
          new RunnerUnavailable(`the session ended (ssh exited ${code})`, { exitCode: code, stderr: this.stderr }),
        );
        gone();
      });
    });
    const startTimer = setTimeout(
      () => this.end(new RunnerUnavailable(`the session did not start within ${START_DEADLINE_MS / 1000} s`)),
      START_DEADLINE_MS,
    );
    const stopTimer = () => clearTimeout(startTimer);
    this.started.then(stopTimer, stopTimer);
    // held while it starts and while a command is in flight: an idle session keeps no process alive
    this.started.then(
      () => this.holdIfBusy(),
      () => undefined,
    );
  }

  get alive(): boolean {
    return !this.ended;
  }

  /** Whether the session keeps this process alive: while it starts, ends or has a command out. */
  private hold(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Array<{
      ref(): void;
      unref(): void;
    } | null>)
      if (on) h?.ref();
      else h?.unref();
  }

  private holdIfBusy(): void {
    if (!this.ended) this.hold(this.pending.size > 0);
  }

  /** Runs one command line (quoted for the remote shell, on one line); answers as LocalTransport would. */
  run(argv: string[], command: string, options: RunOptions, timeoutMs: number): Promise<CommandResult> {
    if (this.ended || !this.ready) throw new Error('runner: not ready for a command');
    if (command.includes('\n')) throw new Error('runner: a command line must be one line (oneLineQuote)');
    const id = this.nextId++;
    const started = performance.now();
    return new Promise<CommandResult>((done, fail) => {
      const giveUp = (how: 'timedOut' | 'cancelled') => {
        this.settle(id, { ...emptyResult(argv, started, timeoutMs), [how]: true });
        this.givenUp.add(id);
        if (this.givenUp.size > GIVEN_UP_KEPT) this.garbled('too many commands never answered');
      };
      const p: Pending = {
        argv,
        timeoutMs,
        started,
        done,
        fail,
        signal: options.signal,
        timer: setTimeout(() => giveUp('timedOut'), timeoutMs + ANSWER_GRACE_MS),
        onAbort: () => giveUp('cancelled'),
      };
      if (options.signal?.aborted) {
        clearTimeout(p.timer);
        return done({ ...emptyResult(argv, started, timeoutMs), cancelled: true });
      }
      options.signal?.addEventListener('abort', p.onAbort, { once: true });
      this.pending.set(id, p);
      this.hold(true);
      // an empty input is no input at all to the command: both read end-of-file at once
      const input = options.input === undefined ? '-' : Buffer.from(options.input).toString('base64') || '-';
      this.child.stdin!.write(`${id} ${(timeoutMs / 1000).toFixed(3)} ${input} ${command}\n`);
    });
  }

  /** Ends the session: the loop reads end-of-file, lets its jobs end and exits (its folder
   * removed); killed if it lingers. */
  close(): Promise<void> {
    if (!this.ended) {
      this.hold(true);
      this.child.stdin!.end();
      setTimeout(() => this.kill(), 2_000).unref();
    }
    return this.exited;
  }

  private kill(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Command `id` is answered (or given up): its caller gets `result`. */
  private settle(id: number, result: CommandResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.signal?.removeEventListener('abort', p.onAbort);
    p.done(result);
    this.holdIfBusy();
  }

  /** The session is over: every command out hears why. */
  private end(reason: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.kill();
    if (!this.ready) this.markFailed(reason);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.signal?.removeEventListener('abort', p.onAbort);
      p.fail(reason);
    }
  }

  private garbled(what = 'it sent what the runner never says'): void {
    this.end(new RunnerUnavailable(`the host's session was ended: ${what}`));
  }

  /** The session's stdout as it comes: the ready line, then answers; anything else ends it. */
  private read(data: string): void {
    if (this.ended) return;
    this.buffer += data;
    if (!this.ready) {
      const word = `\nLCR ${this.nonce} `;
      const at = `\n${this.buffer}`.indexOf(word);
      const lineEnd = at < 0 ? -1 : this.buffer.indexOf('\n', at);
      if (at < 0 || lineEnd < 0) {
        if (this.buffer.length > BEFORE_READY_LIMIT)
          this.end(new RunnerUnavailable(`the host printed more than ${BEFORE_READY_LIMIT} bytes before the runner`));
        return;
      }
      const said = this.buffer.slice(at + word.length - 1, lineEnd);
      this.buffer = this.buffer.slice(lineEnd + 1);
      const lacks = /^lacks (\w+)$/.exec(said);
      if (lacks) return this.end(new RunnerUnavailable(`the host lacks ${lacks[1]}`, undefined, lacks[1]));
      if (said !== 'ready') return this.end(new RunnerUnavailable('the runner did not start'));
      this.ready = true;
      this.markStarted();
    }
    while (this.buffer && !this.ended && this.answer());
  }

  /** One whole answer off the buffer, if it has all come (true), or not yet (false). */
  private answer(): boolean {
    const headerEnd = this.buffer.indexOf('\n');
    if (headerEnd < 0) {
      if (this.buffer.length > 200) this.garbled();
      return false;
    }
    const m = /^LCR ([0-9a-f]{16}) (\d{1,9}) (\d{1,3}) (\d{1,12}) (\d{1,12})$/.exec(this.buffer.slice(0, headerEnd));
    const id = Number(m?.[2]);
    if (!m || m[1] !== this.nonce || !(this.pending.has(id) || this.givenUp.has(id))) {
      this.garbled();
      return false;
    }
    const out = this.stream(headerEnd + 1);
    const err = out && out !== 'garbled' ? this.stream(out.end) : out;
    if (out === 'garbled' || err === 'garbled') {
      this.garbled();
      return false;
    }
    if (!out || !err) return false;
    this.buffer = this.buffer.slice(err.end);
    if (this.givenUp.delete(id)) return true;
    const p = this.pending.get(id)!;
    const status = Number(m[3]);
    const durationMs = Math.round(performance.now() - p.started);
    // what the streams held past what is kept: counted there, not sent
    const outNotKept = Math.max(0, Number(m[4]) - KEPT_OUTPUT_BYTES);
    const errNotKept = Math.max(0, Number(m[5]) - KEPT_OUTPUT_BYTES);
    // `timeout` answers 124 (TERM) or 137 (KILL, 2 s later) when it ended the command
    const timedOut = (status === 124 || status === 137) && durationMs >= p.timeoutMs - 50;
    this.settle(id, {
      argv: p.argv,
      exitCode: timedOut ? null : status,
      stdout: decode(out.bytes, outNotKept),
      stderr: decode(err.bytes, errNotKept),
      ...(outNotKept || errNotKept ? { notKept: { stdout: outNotKept, stderr: errNotKept } } : {}),
      // stopped by its file size limit there (SIGXFSZ), as LocalTransport stops a flood here
      ...(Math.max(outNotKept, errNotKept) + KEPT_OUTPUT_BYTES >= FILE_LIMIT ? { flooded: true } : {}),
      durationMs,
      timedOut,
      cancelled: false,
      timeoutMs: p.timeoutMs,
    });
    return true;
  }

  /** A stream's base64 lines from `from` up to its `.` line: its bytes and where it ends. */
  private stream(from: number): { bytes: Buffer; end: number } | 'garbled' | undefined {
    // the line before `from` ended with a newline: an empty stream is `.` right there
    const end = this.buffer.indexOf('\n.\n', from - 1);
    if (end < 0) return this.buffer.length - from > STREAM_TEXT_LIMIT ? 'garbled' : undefined;
    const text = this.buffer.slice(from, end + 1);
    if (text.length > STREAM_TEXT_LIMIT || !/^[A-Za-z0-9+/=\n]*$/.test(text)) return 'garbled';
    const lines = text.split('\n').filter(Boolean);
    if (lines.some((l) => l.length > BASE64_LINE_LIMIT)) return 'garbled';
    return { bytes: Buffer.from(lines.join(''), 'base64'), end: end + 3 };
  }
}

function emptyResult(argv: string[], started: number, timeoutMs: number): CommandResult {
  return {
    argv,
    exitCode: null,
    stdout: '',
    stderr: '',
    durationMs: Math.round(performance.now() - started),
    timedOut: false,
    cancelled: false,
    timeoutMs,
  };
}

/** A stream's kept bytes as text: a cut inside a UTF-8 sequence falls before it (as locally). */
function decode(bytes: Buffer, notKept: number): string {
  return new TextDecoder().decode(notKept ? wholeSequences(bytes) : bytes);
}
