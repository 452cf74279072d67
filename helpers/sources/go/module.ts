/** A Go module's source, downloaded through Go's own proxy settings (`go mod download`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../../host/host.ts';
import { type GoToolchain, GoSourceError } from './toolchain.ts';

export interface Downloaded {
  dir: string;
  goLine: string;
  revision: string;
  sum: string;
}

/** `go mod download -json MODULE@VERSION` through Go's own proxy settings; a clear error when the
 * proxy does not answer or has no such version. */
export async function downloadModule(
  host: Host,
  go: GoToolchain,
  module: string,
  version: string,
): Promise<Downloaded> {
  const r = await host.run([go.go, 'mod', 'download', '-json', `${module}@${version}`], {
    timeoutMs: 600_000,
    cwd: '/',
  });
  let info: { Dir?: string; GoMod?: string; Sum?: string; Error?: string; Origin?: { Hash?: string } } = {};
  try {
    info = JSON.parse(r.stdout) as typeof info;
  } catch {
    // no JSON at all: go itself failed (stderr says why)
  }
  if (info.Error || r.exitCode !== 0 || !info.Dir) {
    const why = (info.Error ?? r.stderr).trim().split('\n').pop() ?? `exit ${r.exitCode}`;
    // status codes as words: a proxy's random port (127.0.0.1:40499) must not read as a 404
    if (/not found|unknown revision|invalid version|not available|\b410 Gone\b|\b404\b/i.test(why))
      throw new GoSourceError(
        `${module}@${version}: no such version on the module proxy (GOPROXY=${go.env.GOPROXY}): ${why}`,
      );
    throw new GoSourceError(
      `${module}@${version}: the module proxy did not deliver it (GOPROXY=${go.env.GOPROXY}): ${why}`,
    );
  }
  const goLine = /^go (\S+)/m.exec(readFileSync(info.GoMod ?? join(info.Dir, 'go.mod'), 'utf8'))?.[1] ?? '1.0';
  // a pseudo-version ends in the commit; the proxy names a tag's commit only sometimes
  const revision = info.Origin?.Hash ?? /-([0-9a-f]{12})$/.exec(version)?.[1] ?? '';
  return { dir: info.Dir, goLine, revision, sum: info.Sum ?? '' };
}
