// The local transport: argv is passed literally, a timeout kills the whole process group, a
// cancelled test cancels its command, and a command that cannot start says so.
import { describe, expect, test } from 'vitest';
import {
  KEPT_OUTPUT_BYTES,
  LocalTransport,
  describeResult,
  formatArgv,
  observedCommand,
  tail,
} from '../helpers/host/transport.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctrRunPrinting } from '../helpers/system/containerd.ts';
import { Host } from '../helpers/host/host.ts';
import { isAlive } from '../helpers/offline/supervisor.ts';
import { eventually } from './support/eventually.ts';

const local = new LocalTransport();

describe('local transport', () => {
  test('arguments arrive literally, never through a shell', async () => {
    const tricky = 'a b; echo $(id) \'"`x`';
    const r = await local.run(['printf', '%s', tricky]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(tricky);
  });

  test('a timeout kills the grandchildren too', async () => {
    // the shell starts a sleeping grandchild and reports its PID, then waits
    const r = await local.run(['sh', '-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    const grandchild = Number(r.stdout.trim());
    expect(grandchild).toBeGreaterThan(0);
    // killed, perhaps not yet reaped: isAlive counts a zombie as gone
    await eventually(`the grandchild ${grandchild} gone`, () => !isAlive(grandchild), 2_000, { intervalMs: 10 });
  });

  test('an aborted signal cancels the command', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await local.run(['sleep', '30'], { signal: ac.signal });
    expect(r.cancelled).toBe(true);
    expect(r.durationMs).toBeLessThan(5_000);
  });

  test('checks at once keep their own transcripts; an undo runs even after its check was cancelled', async () => {
    const host = new Host(local);
    const [a, b] = [[], []] as Array<Parameters<Host['within']>[0]>;
    const cancelled = new AbortController();
    cancelled.abort();
    await Promise.all([
      host.within(a!, undefined, async () => {
        await host.run(['sh', '-c', 'sleep 0.1; echo a1']);
        await host.run(['echo', 'a2']);
      }),
      host.within(b!, cancelled.signal, async () => {
        const killed = await host.run(['sleep', '5']);
        expect(killed.cancelled).toBe(true);
        await host.uncancellable(() => host.run(['echo', 'b-undo']));
      }),
    ]);
    expect(a!.map((e) => e.stdout.trim())).toEqual(['a1', 'a2']);
    expect(b!.map((e) => e.command)).toEqual(['sleep 5', 'echo b-undo']);
    expect(b![1]!.exitCode).toBe(0);
    // nothing ran outside a check
    expect(host.takeTranscript()).toEqual([]);
  });

  test('a missing program is a spawn error, not an exit code', async () => {
    const r = await local.run(['/nonexistent/lesson-check-binary']);
    expect(r.spawnError).toMatch(/ENOENT/);
  });

  test('the vocabulary: ensure throws with the command and stderr, capture trims, anyhow ignores', async () => {
    const host = new Host(local);
    await expect(host.ensure(['sh', '-c', 'echo boom >&2; exit 3'])).rejects.toThrow(/exit 3[\s\S]*boom/);
    expect(await host.capture(['echo', '  hi  '])).toBe('hi');
    await host.anyhow(['true']);
    const transcript = host.takeTranscript();
    expect(transcript.map((e) => e.command)).toEqual([
      formatArgv(['sh', '-c', 'echo boom >&2; exit 3']),
      "echo '  hi  '",
      'true',
    ]);
  });
});

describe('a command that floods or holds its output', () => {
  test('a flood costs at most what is kept: the rest is counted, and said, not kept', async () => {
    // 40 MB of NUL bytes without a newline, and a line on stderr
    const r = await local.run(['sh', '-c', 'head -c 40000000 /dev/zero; echo done >&2']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(KEPT_OUTPUT_BYTES);
    expect(r.notKept).toEqual({ stdout: 40_000_000 - KEPT_OUTPUT_BYTES, stderr: 0 });
    expect(describeResult(r)).toMatch(/^exit 0 after \d+ ms; stdout: 39\.0 MB more not kept$/);
    // the transcript of a report keeps less still
    const host = new Host(local);
    await host.run(['head', '-c', '5000000', '/dev/zero']);
    const [entry] = host.takeTranscript();
    expect(entry!.stdout.length).toBeLessThan(70_000);
    expect(entry!.stdout).toMatch(/characters more not kept in the report$/);
  });

  test('a cut never splits a UTF-8 character; invalid UTF-8 arrives as U+FFFD', async () => {
    const invalid = `printf 'a'; head -c 2000000 /dev/zero | tr '\\0' '\\351'`;
    const r = await local.run(['sh', '-c', invalid]);
    // \351 alone is invalid UTF-8: each byte is one U+FFFD
    expect(r.stdout.startsWith('a\ufffd')).toBe(true);
    const euro = await local.run(['sh', '-c', `printf 'a'; yes '€' | tr -d '\\n' | head -c 3000000`]);
    // 'a' then whole euro signs: the cut falls before the first incomplete one
    expect(euro.stdout).toMatch(/^a(€)+$/);
  });

  test('a command whose grandchild holds its output open ends at its timeout all the same', async () => {
    const started = Date.now();
    let grandchild: number | undefined;
    try {
      // setsid takes the grandchild out of the command's process group, beyond the group kill; it
      // leads a group of its own, and says which first
      const r = await local.run(['sh', '-c', `setsid sh -c 'echo $$; while :; do printf .; sleep 1; done' & wait`], {
        timeoutMs: 1_500,
      });
      grandchild = Number(/^\d+/.exec(r.stdout)?.[0]) || undefined;
      expect(r.timedOut).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(grandchild, r.stdout).toBeGreaterThan(0);
    } finally {
      // its group alone: never a pattern, which would also end another run's loop that looks the same
      if (grandchild) process.kill(-grandchild, 'SIGKILL');
    }
  });

  test('failure messages quote at most a few hundred characters of each line', () => {
    expect(tail(`${'x'.repeat(5000)}\nlast`)).toMatch(/^x{400}… \(4600 more\)\nlast$/);
  });

  test("a failure's observed tail leaves out containerd's cgroup v1 warning; the result keeps it", async () => {
    // as ctr 2.2.1 prints it on this project's cgroup v1 hosts, before what went wrong
    const warning =
      'time="2026-12-02T02:59:11Z" level=warning msg="DEPRECATION: The support for cgroup v1 is deprecated ' +
      'since containerd v2.2 and will be removed by no later than May 2029. Upgrade the host to use cgroup v2."';
    const cause = 'ctr: failed to create shim task: OCI runtime create failed';
    const r = await local.run(['sh', '-c', 'printf "%s\\n%s\\n" "$0" "$1" >&2; exit 1', warning, cause]);
    expect(r.stderr).toBe(`${warning}\n${cause}\n`);
    expect(observedCommand(r)).toMatch(new RegExp(`exit 1 after \\d+ ms:\\n${cause}$`));
    // a warning alone leaves nothing to show but the command
    const alone = await local.run(['sh', '-c', 'printf "%s\\n" "$0" >&2; exit 1', warning]);
    expect(observedCommand(alone)).toMatch(/ms \(no output\)$/);
  });
});

describe("a short-lived container's run (ctr can lose its output)", () => {
  // a command that prints nothing on its first `silent` runs and the greeting after, exit 0
  async function runs(silent: number, opts: { exit?: number; runs?: number } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'lc-ctr-run-'));
    try {
      const script =
        'n=$(cat "$1" 2>/dev/null || echo 0); echo $((n + 1)) > "$1"; [ "$n" -ge "$2" ] && echo hello; exit "$3"';
      const host = new Host(local);
      const r = await ctrRunPrinting(
        host,
        ['sh', '-c', script, 'sh', join(dir, 'n'), String(silent), String(opts.exit ?? 0)],
        {
          runs: opts.runs,
        },
      );
      return { r, transcript: host.takeTranscript().map((e) => e.command) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('exit 0 with nothing printed is run again, and the transcript says why', async () => {
    const { r, transcript } = await runs(2);
    expect(r.stdout).toBe('hello\n');
    expect(transcript.filter((c) => c.startsWith('sh '))).toHaveLength(3);
    expect(transcript.filter((c) => c.startsWith('# '))).toEqual([
      "# sh run exited 0 and printed nothing: it can lose a short-lived container's output; run 2 of 3",
      "# sh run exited 0 and printed nothing: it can lose a short-lived container's output; run 3 of 3",
    ]);
  });

  test('a container that never prints fails after the last run; a failure or output is judged at once', async () => {
    const never = await runs(99);
    expect(never.r.stdout).toBe('');
    expect(never.transcript.filter((c) => c.startsWith('sh '))).toHaveLength(3);
    const failed = await runs(99, { exit: 1 });
    expect(failed.r.exitCode).toBe(1);
    expect(failed.transcript).toHaveLength(1);
    const printed = await runs(0);
    expect(printed.transcript).toHaveLength(1);
  });
});
