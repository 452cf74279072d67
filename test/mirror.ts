/**
 * A mirror laid out like github.com, served on loopback, whose release assets are the go
 * source's builds of the lesson's releases (helpers/sources/go-source.ts): the same file names, tar
 * layouts and checksum files as upstream's, the unit file from containerd's module under
 * github.com's /raw/ path. A lab fetching from it meets the lesson's own version numbers.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { Host } from '../helpers/host/host.ts';
import { buildGoAssets } from '../helpers/sources/go-source.ts';
import { lessonAssets } from '../helpers/sources/github-source.ts';
import { LESSON_VERSIONS } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';

export interface Mirror {
  url: string;
  root: string;
  close(): Promise<void>;
}

/** Builds the mirror's files under a fresh folder (the go source's cache makes this a copy). */
export async function buildMirror(): Promise<string> {
  const built = await buildGoAssets(new Host(new LocalTransport()), { ...LESSON_VERSIONS });
  const root = mkdtempSync(join(tmpdir(), 'lc-mirror-'));
  for (const asset of lessonAssets()) {
    const from = built.files[asset.role];
    if (!from) throw new Error(`the go source built no ${asset.role}`);
    for (const path of [asset.path, asset.checksum?.path]) {
      if (!path) continue;
      mkdirSync(join(root, dirname(path)), { recursive: true });
      copyFileSync(join(dirname(from), path.slice(path.lastIndexOf('/') + 1)), join(root, path));
    }
  }
  return root;
}

/** Serves `root` on a free loopback port: files by path, 404 for anything else. */
export async function serveMirror(root: string): Promise<Mirror> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    root,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
