/** Reading a run's LC_TIMINGS marks. */
import { readFileSync } from 'node:fs';

/** Those of `ids` whose run overlapped another's in time, from a run's LC_TIMINGS marks. */
export function overlappingChecks(timingsFile: string, ids: string[]): string[] {
  const spans = new Map<string, { start?: number; end?: number }>();
  for (const line of readFileSync(timingsFile, 'utf8').trim().split('\n')) {
    const m = /^(\d+) \d+ check (\w+): (start|end)$/.exec(line);
    if (m && ids.includes(m[2]!)) spans.set(m[2]!, { ...spans.get(m[2]!), [m[3]!]: Number(m[1]) });
  }
  const overlaps = (x: { start?: number; end?: number }, y: { start?: number; end?: number }) =>
    x.start! < y.end! && y.start! < x.end!;
  return [...spans]
    .filter(([id, s]) => [...spans].some(([other, t]) => other !== id && overlaps(s, t)))
    .map(([id]) => id)
    .sort();
}
