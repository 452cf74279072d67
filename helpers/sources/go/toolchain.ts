/** The Go toolchain the `go` source builds with: `$GO`, go on PATH or the usual installs, its
 * version and Go's own settings (GOPROXY, GOFLAGS, GOTOOLCHAIN…), and a clear line when there is
 * none or it is too old. */
import type { Host } from '../../host/host.ts';

/** A setup problem with one clear line: no usable Go, the proxy does not answer, no such pin. */
export class GoSourceError extends Error {
  override name = 'GoSourceError';
}

export interface GoToolchain {
  go: string;
  /** `go1.26.8`. */
  version: string;
  env: Record<string, string>;
}

/** `$GO` when set (as upstream's Makefiles take it), else go on PATH, else the usual installs. */
function goCandidates(): string[] {
  return process.env.GO ? [process.env.GO] : ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'];
}

/** The Go toolchain to build with, or a GoSourceError saying what to install. */
export async function findGo(host: Host): Promise<GoToolchain> {
  for (const go of goCandidates()) {
    const r = await host.run(
      [go, 'env', '-json', 'GOVERSION', 'GOPROXY', 'GOFLAGS', 'GOTOOLCHAIN', 'GONOSUMDB', 'GOMODCACHE', 'GOCACHE'],
      { timeoutMs: 30_000 },
    );
    if (r.spawnError) continue;
    if (r.exitCode !== 0) {
      // Go before 1.13 has no `go env -json`; GOVERSION came in 1.16
      const old = (await host.run([go, 'version'])).stdout.trim();
      throw new GoSourceError(
        `${old || go} is too old to build the lesson's modules (they need Go 1.24 or newer): install Go from https://go.dev/dl (Debian 12's golang-go is 1.19)`,
      );
    }
    const env = JSON.parse(r.stdout) as Record<string, string>;
    return { go, version: env.GOVERSION ?? 'unknown', env };
  }
  throw new GoSourceError(
    `no Go toolchain found (${goCandidates().join(', ')}): install Go 1.24 or newer from https://go.dev/dl (Debian 12's golang-go is 1.19, too old for these modules)`,
  );
}

/** go1.26.8 → [1, 26, 8]. */
function goVersionParts(v: string): number[] {
  return (/(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)?.slice(1) ?? []).map((n) => Number(n ?? 0));
}

export function atLeast(have: string, need: string): boolean {
  const a = goVersionParts(have);
  const b = goVersionParts(need);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
