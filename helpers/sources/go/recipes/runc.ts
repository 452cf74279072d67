/** runc, as `make static` builds it for a release: cgo with libseccomp, a static PIE. */
import { join } from 'node:path';
import type { Arch, Versions } from '../../github-source.ts';
import { type Component, writeSums } from '../builder.ts';
import { GoSourceError } from '../toolchain.ts';

export function runcRecipe(v: Versions, arch: Arch): Component {
  return {
    role: 'runc',
    module: 'github.com/opencontainers/runc',
    version: `v${v.runc}`,
    async build(b, src, out, mod) {
      // `make static`, as script/release_build.sh runs it: cgo with libseccomp, static PIE; the
      // version comes from the embedded VERSION file, the commit as `git describe --long` puts it
      const commit = mod.revision ? `v${v.runc}-0-g${mod.revision.slice(0, 8)}` : '';
      const name = `runc.${arch}`;
      try {
        await b.goBuild(
          src,
          [
            '-trimpath',
            '-buildmode=pie',
            '-tags',
            'seccomp urfave_cli_no_docs netgo osusergo',
            '-ldflags',
            `${commit ? `-X main.gitCommit=${commit} ` : ''}-linkmode external -extldflags -static-pie`,
            '-o',
            join(out, name),
            '.',
          ],
          { CGO_ENABLED: '1' },
        );
      } catch (e) {
        if (/seccomp|gcc|cc1|cannot find -l|executable file not found/.test((e as Error).message)) {
          throw new GoSourceError(
            "runc is built with cgo and libseccomp, as upstream's release is: install gcc and libseccomp-dev " +
              `(Debian: apt-get install gcc libc6-dev libseccomp-dev): ${(e as Error).message}`,
          );
        }
        throw e;
      }
      writeSums(out, 'runc.sha256sum', [name]);
    },
  };
}
