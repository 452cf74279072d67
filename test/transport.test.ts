// The local transport: argv is passed literally, a timeout kills the whole process group, a
// cancelled test cancels its command, and a command that cannot start says so.
import { describe, expect, test } from 'vitest';
import { LocalTransport, formatArgv } from '../helpers/transport.ts';
import { Host } from '../helpers/host.ts';
import { isAlive } from '../helpers/lab/supervisor.ts';

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
    await new Host(local).poll(
      'grandchild gone',
      () => Promise.resolve(isAlive(grandchild) ? undefined : true),
      2_000,
      10,
    );
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

  test(
    'the vocabulary: ensure throws with the command and stderr, ' + 'capture trims, expectFailure requires failure',
    async () => {
      const host = new Host(local);
      await expect(host.ensure(['sh', '-c', 'echo boom >&2; exit 3'])).rejects.toThrow(/exit 3[\s\S]*boom/);
      expect(await host.capture(['echo', '  hi  '])).toBe('hi');
      await expect(host.expectFailure(['true'])).rejects.toThrow(/expected to fail/);
      const transcript = host.takeTranscript();
      expect(transcript.map((e) => e.command)).toEqual([
        formatArgv(['sh', '-c', 'echo boom >&2; exit 3']),
        "echo '  hi  '",
        'true',
      ]);
    },
  );
});
