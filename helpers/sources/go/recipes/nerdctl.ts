/** nerdctl, as its Makefile builds a release: the CLI without cgo and the rootless scripts, flat in
 * `nerdctl-<v>-linux-<arch>.tar.gz`. */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch, Versions } from '../../github-source.ts';
import { type Component, writeSums } from '../builder.ts';

export function nerdctlRecipe(v: Versions, arch: Arch): Component {
  return {
    role: 'nerdctl',
    module: 'github.com/containerd/nerdctl/v2',
    version: `v${v.nerdctl}`,
    async build(b, src, out, mod) {
      // go.mod replaces nerdctl/mod/tigron (its test framework, a module of its own) with
      // ./mod/tigron, which the module zip leaves out, and the proxy serves no tigron. Only test
      // code uses it: in the CLI's import graph, through cmd/nerdctl/helpers/testing_linux.go
      // alone (helpers taking a *testing.T that no command calls, so the linker drops them).
      // Without that file and with an empty module at ./mod/tigron the CLI builds; the binary
      // holds the same code.
      rmSync(join(src, 'cmd/nerdctl/helpers/testing_linux.go'), { force: true });
      mkdirSync(join(src, 'mod/tigron'), { recursive: true });
      if (!existsSync(join(src, 'mod/tigron/go.mod')))
        writeFileSync(join(src, 'mod/tigron/go.mod'), 'module github.com/containerd/nerdctl/mod/tigron\n');
      const pkg = 'github.com/containerd/nerdctl/v2';
      const release = join(out, 'release');
      mkdirSync(release, { recursive: true });
      await b.goBuild(
        src,
        [
          '-ldflags',
          `-s -w -X ${pkg}/pkg/version.Version=v${v.nerdctl} ` +
            `-X ${pkg}/pkg/version.Revision=${mod.revision || 'unknown'}`,
          '-o',
          join(release, 'nerdctl'),
          './cmd/nerdctl',
        ],
        { CGO_ENABLED: '0' },
      );
      for (const script of ['containerd-rootless.sh', 'containerd-rootless-setuptool.sh'])
        cpSync(join(src, 'extras/rootless', script), join(release, script));
      const name = `nerdctl-${v.nerdctl}-linux-${arch}.tar.gz`;
      // the Makefile's `tar --owner=0 --group=0 --transform 's/.*\///g'`: three files, flat
      await b.tar([
        '--owner=0',
        '--group=0',
        '-czf',
        join(out, name),
        '-C',
        release,
        'nerdctl',
        'containerd-rootless-setuptool.sh',
        'containerd-rootless.sh',
      ]);
      rmSync(release, { recursive: true });
      writeSums(out, 'SHA256SUMS', [name]);
    },
  };
}
