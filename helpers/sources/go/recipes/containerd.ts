/** containerd, as its Makefile builds a release: ctr, containerd and containerd-stress as PIE, the
 * runc shim static without cgo, packed as `containerd-<v>-linux-<arch>.tar.gz` with its unit file. */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch, Versions } from '../../github-source.ts';
import { type Component, writeSums } from '../builder.ts';

const CONTAINERD_PKG = 'github.com/containerd/containerd/v2';

export function containerdRecipe(v: Versions, arch: Arch): Component {
  return {
    role: 'containerd',
    module: CONTAINERD_PKG,
    version: `v${v.containerd}`,
    async build(b, src, out, mod) {
      // Makefile: -X version.{Version,Revision,Package}, -s -w; PIE on linux; the shim static, without cgo
      const ldflags = [
        `-X ${CONTAINERD_PKG}/version.Version=v${v.containerd}`,
        `-X ${CONTAINERD_PKG}/version.Revision=${mod.revision}`,
        `-X ${CONTAINERD_PKG}/version.Package=${CONTAINERD_PKG}`,
        '-s -w',
      ].join(' ');
      const bin = join(out, 'release', 'bin');
      mkdirSync(bin, { recursive: true });
      await b.goBuild(src, [
        '-buildmode=pie',
        '-ldflags',
        ldflags,
        '-o',
        `${bin}/`,
        './cmd/ctr',
        './cmd/containerd',
        './cmd/containerd-stress',
      ]);
      await b.goBuild(
        src,
        ['-ldflags', `${ldflags} -extldflags "-static"`, '-o', `${bin}/`, './cmd/containerd-shim-runc-v2'],
        { CGO_ENABLED: '0' },
      );
      const name = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
      await b.tar(['-czf', join(out, name), '-C', join(out, 'release'), 'bin']);
      rmSync(join(out, 'release'), { recursive: true });
      writeSums(out, `${name}.sha256sum`, [name]);
      // the unit file comes from the module's own root, as the lesson's raw URL serves it
      cpSync(join(src, 'containerd.service'), join(out, 'containerd.service'));
    },
  };
}
