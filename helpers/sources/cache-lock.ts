/** A lock on a cache folder, so that labs started together fetch or build once. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { isAlive } from '../offline/supervisor.ts';

/** Takes the lock `dir` (a directory naming its holder's PID; one whose holder died is taken
 * over), waiting up to `limitMs`; returns its release. */
export async function lockDir(host: Host, dir: string, limitMs = 900_000): Promise<() => void> {
  await host.poll(
    `the cache lock ${dir}`,
    () => {
      try {
        mkdirSync(dir);
        writeFileSync(join(dir, 'pid'), String(process.pid));
        return true;
      } catch {
        let holder = 0;
        try {
          holder = Number(readFileSync(join(dir, 'pid'), 'utf8').trim() || 0);
        } catch {
          // made but not yet named by its holder, or released meanwhile
        }
        if (holder && !isAlive(holder)) rmSync(dir, { recursive: true, force: true });
        return undefined;
      }
    },
    limitMs,
    200,
  );
  return () => rmSync(dir, { recursive: true, force: true });
}
