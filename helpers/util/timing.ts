/**
 * Phase marks for the benchmark: with LC_TIMINGS=<file>, each process of a run (the CLI, vitest,
 * its worker) appends "<epoch ms> <pid> <label>" lines to that file, so `npm run bench` can say
 * where a run's time goes. Without LC_TIMINGS this does nothing.
 */
import { appendFileSync } from 'node:fs';

export function mark(label: string): void {
  const file = process.env.LC_TIMINGS;
  if (!file) return;
  appendFileSync(file, `${Date.now().toFixed(0)} ${process.pid} ${label}\n`);
}

/** Marks this process's own start (node's time origin), once per process. */
export function markProcessStart(label: string): void {
  const file = process.env.LC_TIMINGS;
  if (!file) return;
  appendFileSync(file, `${performance.timeOrigin.toFixed(0)} ${process.pid} ${label}\n`);
}
