/** podinfo, as upstream's Dockerfile builds it: the binary and its ./ui, for the lab's real podinfo image. */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../builder.ts';

/** podinfo's tags lack the `v` Go needs (`6.9.2`), so Go knows its commits only as
 * pseudo-versions: this one is the commit of podinfo's 6.9.2 release (pkg/version says so). */
export const PODINFO = {
  module: 'github.com/stefanprodan/podinfo',
  version: 'v1.8.1-0.20250910200901-e86405a8674e',
  release: '6.9.2',
};

export function podinfoRecipe(): Component {
  return {
    role: 'podinfo',
    module: PODINFO.module,
    version: PODINFO.version,
    async build(b, src, out, mod) {
      // upstream's Dockerfile: CGO_ENABLED=0, -s -w, REVISION stamped; ./ui beside the binary
      await b.goBuild(
        src,
        [
          '-ldflags',
          `-s -w -X ${PODINFO.module}/pkg/version.REVISION=${mod.revision}`,
          '-o',
          join(out, 'podinfo'),
          './cmd/podinfo',
        ],
        { CGO_ENABLED: '0' },
      );
      cpSync(join(src, 'ui'), join(out, 'ui'), { recursive: true });
    },
  };
}
