/** HTTP from the host (through the transport, with curl), polled until it answers or a deadline. */
import type { Host } from '../host/host.ts';
import type { CommandResult } from '../host/transport.ts';

export interface HttpPoll {
  ok: boolean;
  last: CommandResult;
  attempts: number;
  elapsedMs: number;
  limitMs: number;
}

/** GETs `url` until it answers 2xx or `limitMs` passes; never throws. */
export async function pollHttpGet(host: Host, url: string, limitMs = 15_000): Promise<HttpPoll> {
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const last = await host.run(['curl', '--silent', '--show-error', '--fail', '--max-time', '2', url], {
      timeoutMs: 5_000,
    });
    const elapsedMs = Date.now() - started;
    if (last.exitCode === 0 || elapsedMs >= limitMs)
      return { ok: last.exitCode === 0, last, attempts, elapsedMs, limitMs };
    await new Promise((r) => setTimeout(r, 100));
  }
}
