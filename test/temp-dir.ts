// vitest globalSetup: the tests' temp files (reports, inventories, mirrors, sshd keys…) go under
// one fresh folder (a short name: ssh's control sockets live below it), removed when the run
// ends, so that repeated runs do not fill /tmp. The runs under test keep their own promise (no
// trace left), which the tests check where it matters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'lc-t-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
