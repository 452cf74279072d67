/**
 * A mirror laid out like github.com, served on loopback, whose release assets are assembled from
 * the Debian binaries: the containerd tarball (bin/…), runc.<arch>, the CNI plugins tarball, each
 * with the checksum file upstream publishes beside it, and the unit file under github.com's
 * /raw/ path. nerdctl is packaged nowhere, so its asset is absent (404), as a thin mirror's might be.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, normalize } from 'node:path';
import { execa } from 'execa';
import { Host } from '../helpers/host.ts';
import { fetchAptArtifacts } from '../helpers/lab/apt-source.ts';
import { lessonAssets } from '../helpers/lab/github-source.ts';
import { LocalTransport } from '../helpers/transport.ts';

export interface Mirror {
  url: string;
  root: string;
  close(): Promise<void>;
}

const UNIT = `# containerd.service for the lesson-check mirror test, after the upstream unit
[Unit]
Description=containerd container runtime
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always

[Install]
WantedBy=multi-user.target
`;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Builds the mirror's files under a fresh folder. */
export async function buildMirror(): Promise<string> {
  const apt = await fetchAptArtifacts(new Host(new LocalTransport()));
  const root = mkdtempSync(join(tmpdir(), 'lc-mirror-'));
  const work = mkdtempSync(join(tmpdir(), 'lc-mirror-work-'));
  for (const asset of lessonAssets()) {
    const file = join(root, asset.path);
    mkdirSync(join(file, '..'), { recursive: true });
    if (asset.role === 'containerd') {
      mkdirSync(join(work, 'containerd/bin'), { recursive: true });
      for (const b of [apt.files.containerd, apt.files.ctr, apt.files.shim]) copyFileSync(b, join(work, 'containerd/bin', basename(b)));
      await execa('tar', ['czf', file, '--owner=0', '--group=0', '-C', join(work, 'containerd'), 'bin']);
    } else if (asset.role === 'runc') {
      copyFileSync(apt.files.runc, file);
    } else if (asset.role === 'cni') {
      await execa('tar', ['czf', file, '--owner=0', '--group=0', '-C', apt.files.cniDir, ...readdirSync(apt.files.cniDir)]);
    } else if (asset.role === 'unit') {
      writeFileSync(file, UNIT);
    } else continue; // nerdctl: not on this mirror
    if (asset.checksum) writeFileSync(join(root, asset.checksum.path), `${sha256(file)}  ${asset.checksum.name}\n`, { flag: 'a' });
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
  return { url: `http://127.0.0.1:${port}`, root, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
