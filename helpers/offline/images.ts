/**
 * The offline lab's images, pushed to the lab's own registry under the lesson's image names.
 * *hello* is a stand-in built from busybox-static that prints a greeting. *podinfo* is the real
 * program where the source built it (the go source), laid out as upstream's image is
 * (`/home/app/podinfo`, `./ui`, working dir `/home/app`, user `app`, port 9898); otherwise a
 * busybox stand-in that answers on 9898 like the real one (`GET /` JSON with `version`,
 * `/healthz`, `/version`) and whose `/home/app/podinfo --version` prints a version.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  copyFileSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Host } from '../host/host.ts';
import { during } from '../util/progress.ts';
import type { PodinfoBuild } from '../sources/go-source.ts';

export const STAND_IN_GREETING = 'Hello from the lesson-check stand-in for docker-hello-world!';
const STAND_IN_PODINFO_VERSION = '6.9.4-standin';

const APPLETS = ['sh', 'echo', 'printf', 'mkdir', 'hostname', 'httpd', 'cat', 'sleep', 'ls'];

const PODINFO_SCRIPT = `#!/bin/sh
# lesson-check stand-in for podinfo: same port, paths and --version as the real image
VERSION=${STAND_IN_PODINFO_VERSION}
if [ "$1" = "--version" ]; then echo "$VERSION"; exit 0; fi
mkdir -p /tmp/www
ABOUT='"revision":"stand-in","message":"greetings from the podinfo stand-in","runtime":"busybox httpd"'
printf '{"hostname":"%s","version":"%s",%s}\\n' "$(hostname)" "$VERSION" "$ABOUT" > /tmp/www/index.html
printf '{"status":"OK"}\\n' > /tmp/www/healthz
printf '{"version":"%s"}\\n' "$VERSION" > /tmp/www/version
exec httpd -f -p 9898 -h /tmp/www
`;

interface ImageSpec {
  /** Repository path and tag inside the registry, e.g. stefanprodan/podinfo:latest. */
  repository: string;
  tag: string;
  config: { Cmd: string[]; WorkingDir?: string; User?: string; ExposedPorts?: Record<string, object> };
  /** What the image is, for its labels and the reports. */
  origin: string;
  extraFiles?: Record<string, { content: string; mode: number }>;
  /** Host files and folders copied into the image: image path → host path. */
  copies?: Record<string, string>;
  /** A folder where the compressed layer is kept for the next lab (built from big files). */
  layerCache?: string;
}

/** The lesson's image reference → the registry path and tag it is served under. */
export function splitReference(ref: string): { registry: string; repository: string; tag: string } {
  const slash = ref.indexOf('/');
  const registry = ref.slice(0, slash);
  const rest = ref.slice(slash + 1);
  const colon = rest.lastIndexOf(':');
  return colon > 0
    ? { registry, repository: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { registry, repository: rest, tag: 'latest' };
}

/** Builds the lab's images and pushes them to the registry at `registryUrl`; returns a line per
 * image saying what it is (for the reports). */
export async function pushLabImages(
  host: Host,
  opts: {
    busybox: string;
    workDir: string;
    registryUrl: string;
    hello: string;
    podinfo: string;
    podinfoBuild?: PodinfoBuild;
  },
): Promise<string[]> {
  const hello = splitReference(opts.hello);
  const podinfo = splitReference(opts.podinfo);
  const built = opts.podinfoBuild;
  const podinfoConfig = { Cmd: ['./podinfo'], WorkingDir: '/home/app', ExposedPorts: { '9898/tcp': {} } };
  const specs: ImageSpec[] = [
    {
      repository: hello.repository,
      tag: hello.tag,
      config: { Cmd: ['/bin/echo', STAND_IN_GREETING] },
      origin: 'a lesson-check stand-in built from busybox-static',
    },
    built
      ? {
          repository: podinfo.repository,
          tag: podinfo.tag,
          config: { ...podinfoConfig, User: 'app' },
          origin: `podinfo ${built.version}, built from ${built.module}`,
          copies: { 'home/app/podinfo': built.binary, 'home/app/ui': built.ui },
          layerCache: dirname(built.binary),
        }
      : {
          repository: podinfo.repository,
          tag: podinfo.tag,
          config: podinfoConfig,
          origin: 'a lesson-check stand-in built from busybox-static',
          extraFiles: { 'home/app/podinfo': { content: PODINFO_SCRIPT, mode: 0o755 } },
        },
  ];
  const lines: string[] = [];
  for (const spec of specs) {
    const layer = await buildLayer(host, opts.busybox, join(opts.workDir, spec.repository.replace(/\//g, '_')), spec);
    await pushImage(host, opts.registryUrl, spec, layer);
    lines.push(`image ${spec.repository}:${spec.tag}: ${spec.origin}`);
  }
  return lines;
}

interface Layer {
  gz: Buffer;
  diffId: string;
}

async function buildLayer(host: Host, busybox: string, dir: string, spec: ImageSpec): Promise<Layer> {
  // a layer of big files (podinfo's binary) is compressed once and kept beside them
  const cache = spec.layerCache && join(spec.layerCache, `layer-${layerKey(busybox, spec)}`);
  if (cache && existsSync(`${cache}.diffid`))
    return { gz: readFileSync(`${cache}.tar.gz`), diffId: readFileSync(`${cache}.diffid`, 'utf8') };
  const layer = await during(`building the image ${spec.repository}:${spec.tag}`, () =>
    makeLayer(host, busybox, dir, spec),
  );
  if (cache) {
    // written whole, then renamed: labs started together may both get here
    writeFileSync(`${cache}.tar.gz.${process.pid}`, layer.gz);
    renameSync(`${cache}.tar.gz.${process.pid}`, `${cache}.tar.gz`);
    writeFileSync(`${cache}.diffid.${process.pid}`, layer.diffId);
    renameSync(`${cache}.diffid.${process.pid}`, `${cache}.diffid`);
  }
  return layer;
}

/** What a layer is made of: the spec, and the size and time of every file copied in. */
function layerKey(busybox: string, spec: ImageSpec): string {
  const files = [busybox, ...Object.values(spec.copies ?? {})].map((f) => {
    const st = statSync(f);
    return `${f} ${st.size} ${st.mtimeMs}`;
  });
  return createHash('sha256')
    .update(JSON.stringify({ spec, files, applets: APPLETS }))
    .digest('hex')
    .slice(0, 16);
}

async function makeLayer(host: Host, busybox: string, dir: string, spec: ImageSpec): Promise<Layer> {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'tmp', 'etc', 'home/app']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  // upstream's podinfo runs as the unprivileged `app` (alpine's `adduser -S`)
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:100:101:app:/home/app:/sbin/nologin\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:101:app\n');
  for (const [path, f] of Object.entries(spec.extraFiles ?? {})) {
    writeFileSync(join(root, path), f.content);
    chmodSync(join(root, path), f.mode);
  }
  for (const [path, from] of Object.entries(spec.copies ?? {})) cpSync(from, join(root, path), { recursive: true });
  const tarFile = join(dir, 'layer.tar');
  // fixed owner, order and times: the same inputs give the same digest
  await host.ensure([
    'tar',
    '--create',
    '--file',
    tarFile,
    '--directory',
    root,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--sort=name',
    '--mtime=@0',
    '--format=gnu',
    '.',
  ]);
  const tar = readFileSync(tarFile);
  return { gz: gzipSync(tar), diffId: sha256(tar) };
}

async function pushImage(host: Host, registryUrl: string, spec: ImageSpec, layer: Layer): Promise<void> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { ...spec.config, Env: ['PATH=/bin'], Labels: { 'io.lesson-check.origin': spec.origin } },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    }),
  );
  const base = `${registryUrl}/v2/${spec.repository}`;
  for (const blob of [layer.gz, config]) await pushBlob(base, blob);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer.gz), size: layer.gz.length },
    ],
    annotations: { 'org.opencontainers.image.description': `lesson-check lab image: ${spec.origin}` },
  });
  const url = `${base}/manifests/${spec.tag}`;
  const r = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (r.status !== 201) throw new Error(`PUT ${url} answered ${r.status}: ${await r.text()}`);
  host.note(`pushed image ${spec.repository}:${spec.tag} (${spec.origin}) to ${registryUrl}`);
}

async function pushBlob(base: string, blob: Buffer): Promise<void> {
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || !location)
    throw new Error(`POST ${base}/blobs/uploads/ answered ${start.status}: ${await start.text()}`);
  const url = new URL(location, base);
  url.searchParams.set('digest', sha256(blob));
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(blob),
  });
  if (put.status !== 201) throw new Error(`PUT ${url.pathname} answered ${put.status}: ${await put.text()}`);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
