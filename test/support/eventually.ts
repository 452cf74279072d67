/** The tests' one way to wait: poll with a deadline, and fail saying what was awaited, for how
 * long against what limit, and what was last seen. */
import { inspect } from 'node:util';

export interface EventuallyOptions {
  /** Between two looks (100 ms unless said). */
  intervalMs?: number;
  /** What the failure shows as the last observation (an output's tail, a process list); without
   * it, the probe's last error or value. */
  observe?: () => unknown;
  /** Why waiting on is pointless (the process that was to print it has ended), or undefined: the
   * wait fails at once, saying so. */
  hopeless?: () => string | undefined;
}

/** The value, once `probe` returns one (anything but undefined, null or false); a probe that
 * throws is looked at again, its error kept as the last observation. */
export async function eventually<T>(
  what: string,
  probe: () => T | Promise<T>,
  limitMs: number,
  options: EventuallyOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const { intervalMs = 100, observe, hopeless } = options;
  const started = Date.now();
  let attempts = 0;
  let last: string;
  for (;;) {
    attempts++;
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
      last = inspect(value);
    } catch (e) {
      last = e instanceof Error ? e.message : inspect(e);
    }
    const elapsed = Date.now() - started;
    const why = hopeless?.();
    if (why !== undefined || elapsed >= limitMs) {
      const seen = observe ? shown(await observe()) : last;
      const after = `after ${elapsed} ms (limit ${limitMs} ms, ${attempts} attempts)`;
      throw new Error(`${what}: not seen ${after}${why ? `, and ${why}` : ''}; last observed: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, limitMs - elapsed))));
  }
}

function shown(seen: unknown): string {
  return typeof seen === 'string' ? `\n${seen}` : inspect(seen, { depth: 4 });
}
