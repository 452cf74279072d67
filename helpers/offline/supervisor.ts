/**
 * Supervised daemons for the sandbox lab (containerd, the registry): started detached in their
 * own process group with output to a log file, tracked by PID, stopped with a deadline.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export function startDaemon(argv: string[], opts: { env: Record<string, string>; logFile: string }): number {
  const [file, ...args] = argv;
  const log = openSync(opts.logFile, 'a');
  try {
    // detached: the daemon must not die with the test worker that started it, and must not get
    // the terminal's Ctrl-C; the lab's teardown stops it by PID instead.
    const child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log], env: opts.env });
    if (child.pid === undefined) throw new Error(`could not start ${file}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie (exited, not yet reaped by its parent) counts as gone
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL when `limitMs` passes; resolves once the process is gone. */
export async function stopProcess(pid: number, limitMs = 10_000): Promise<'stopped' | 'killed' | 'absent'> {
  if (!isAlive(pid)) return 'absent';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'absent';
  }
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone between the check and the kill
  }
  // SIGKILL cannot be refused, but a process stuck in the kernel (a hung mount, D state) dies only
  // once the kernel lets it: a teardown does not wait for that forever
  const killDeadline = Date.now() + KILL_WAIT_MS;
  while (isAlive(pid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 20));
  return 'killed';
}

/** How long a process SIGKILLed is waited for before the caller goes on. */
const KILL_WAIT_MS = 10_000;
