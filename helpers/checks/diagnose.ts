/**
 * Looks for the usual mistakes behind a failed check, so a failure can name the likely cause:
 * a file put in the wrong folder, a key spelled almost right.
 */
import { dirname } from 'node:path';
import type { Host } from '../host/host.ts';

/** Regular files named `name` within `depth` levels of each dir (missing dirs are fine). */
export async function findElsewhere(host: Host, name: string, dirs: string[], depth = 2): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    const r = await host.run(['find', dir, '-maxdepth', String(depth), '-name', name, '-type', 'f']);
    found.push(...r.stdout.split('\n').filter(Boolean));
  }
  return [...new Set(found)];
}

/** Keys of `table` that look like `wanted` but are not it ("systemdCgroup", "SystemdCgroups"). */
export function nearMisses(table: unknown, wanted: string): string[] {
  if (typeof table !== 'object' || table === null) return [];
  const squash = (k: string) =>
    k
      .toLowerCase()
      .replace(/[^a-z]/g, '')
      .replace(/s$/, '');
  return Object.keys(table).filter((k) => k !== wanted && squash(k) === squash(wanted));
}

/** The folder above `path` and the folder above that: where a misplaced file usually lands. */
export function neighbourDirs(path: string): string[] {
  return [dirname(path), dirname(dirname(path))];
}
