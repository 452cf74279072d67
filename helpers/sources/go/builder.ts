/** What a build recipe is given: `go build` with the toolchain for the host's architecture, tar,
 * and sha256sum-style checksum files. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../../host/host.ts';
import { lastLines } from '../../util/files.ts';
import type { Arch } from '../github-source.ts';
import type { Downloaded } from './module.ts';
import { type GoToolchain, GoSourceError } from './toolchain.ts';

/** One module's build: where its outputs go and what makes them. */
export interface Component {
  role: 'containerd' | 'runc' | 'nerdctl' | 'cni' | 'podinfo';
  module: string;
  version: string;
  /** Builds into `out` from the writable module copy `src`. */
  build(b: Builder, src: string, out: string, mod: Downloaded): Promise<void>;
}

export class Builder {
  constructor(
    readonly host: Host,
    readonly go: GoToolchain,
    readonly arch: Arch,
  ) {}

  /** `go build …` in `cwd`, Go's own environment kept, plus `env`. */
  async goBuild(cwd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
    // -buildvcs=false: the scratch copy is no checkout, but a cache dir inside one would be stamped
    const r = await this.host.run([this.go.go, 'build', '-buildvcs=false', ...args], {
      cwd,
      env: { GOOS: 'linux', GOARCH: this.arch, ...env },
      timeoutMs: 3_600_000,
    });
    if (r.exitCode !== 0)
      throw new GoSourceError(
        `go build ${args.slice(-1)[0]} in ${cwd} failed (exit ${r.exitCode}): ${lastLines(r.stderr || r.stdout)}`,
      );
  }

  async tar(args: string[]): Promise<void> {
    await this.host.ensure(['tar', ...args]);
  }
}

/** Writes `file` listing the sha256 of each of `names` (in `dir`) as sha256sum does. */
export function writeSums(dir: string, file: string, names: string[]): void {
  const lines = names.map(
    (n) =>
      `${createHash('sha256')
        .update(readFileSync(join(dir, n)))
        .digest('hex')}  ${n}`,
  );
  writeFileSync(join(dir, file), `${lines.join('\n')}\n`);
}
