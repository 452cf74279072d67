/** The CNI plugins, as build_linux.sh builds them: every plugin under plugins/{meta,main,ipam}. */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch, Versions } from '../../github-source.ts';
import { type Component, writeSums } from '../builder.ts';

export function cniRecipe(v: Versions, arch: Arch): Component {
  return {
    role: 'cni',
    module: 'github.com/containernetworking/plugins',
    version: `v${v.cniPlugins}`,
    async build(b, src, out) {
      // build_linux.sh builds every plugin under plugins/{meta,main,ipam}; the release stamps BuildVersion
      const release = join(out, 'release');
      mkdirSync(release, { recursive: true });
      const dirs = ['meta', 'main', 'ipam'].flatMap((kind) =>
        readdirSync(join(src, 'plugins', kind), { withFileTypes: true })
          .filter((d) => d.isDirectory() && d.name !== 'windows')
          .map((d) => `./plugins/${kind}/${d.name}`),
      );
      await b.goBuild(
        src,
        [
          '-ldflags',
          `-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${v.cniPlugins}`,
          '-o',
          `${release}/`,
          ...dirs,
        ],
        { CGO_ENABLED: '0' },
      );
      for (const doc of ['LICENSE', 'README.md'])
        if (existsSync(join(src, doc))) cpSync(join(src, doc), join(release, doc));
      const name = `cni-plugins-linux-${arch}-v${v.cniPlugins}.tgz`;
      await b.tar(['--owner=0', '--group=0', '-czf', join(out, name), '-C', release, '.']);
      rmSync(release, { recursive: true });
      writeSums(out, `${name}.sha256`, [name]);
    },
  };
}
