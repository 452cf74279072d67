/**
 * The lesson's images for a machine (nspawn or VM) under their own names: pushed once into a
 * registry folder of the machine's own, then served over HTTPS with a certificate for the
 * lesson's registry names (ghcr.io) from a CA made for that machine alone, which it trusts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { pushLabImages, splitReference } from '../offline/images.ts';
import { freeLoopbackPort, startRegistry } from '../offline/registry.ts';
import { stopProcess } from '../offline/supervisor.ts';
import { lessonProfile } from '../profile.ts';
import type { PodinfoBuild } from '../sources/go-source.ts';

export interface ImageSources {
  registryBinary: string;
  busybox: string;
  podinfo?: PodinfoBuild;
}

/** The registries the lesson's images are named after (ghcr.io). */
export function lessonRegistryNames(): string[] {
  return [...new Set(Object.values(lessonProfile().images).map((ref) => splitReference(ref).registry))];
}

/** In `tls`: ca.crt (the machine trusts it), registry.crt and registry.key for the lesson's
 * registry names; valid two days. */
export async function makeRegistryTls(host: Host, tls: string, machineName: string): Promise<void> {
  const names = lessonRegistryNames();
  mkdirSync(tls, { recursive: true });
  const openssl = (...args: string[]) => host.ensure(['openssl', ...args], { cwd: tls });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-days',
    '2',
    '-subj',
    `/CN=lesson-check machine ${machineName} CA`,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  );
  await openssl('req', ...ec, '-subj', `/CN=${names[0]}`, '-keyout', 'registry.key', '-out', 'registry.csr');
  writeFileSync(join(tls, 'san.ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  await openssl(
    'x509',
    '-req',
    '-in',
    'registry.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'registry.crt',
  );
}

/** The lesson's images into `dir`/registry, pushed through a registry on a free loopback port
 * that is stopped afterwards; images.txt says which image is which. */
export async function pushLessonImages(host: Host, dir: string, sources: ImageSources): Promise<void> {
  const images = lessonProfile().images;
  const loopback = await startRegistry(host, {
    binary: sources.registryBinary,
    dir,
    name: 'registry-push',
    addr: `127.0.0.1:${await freeLoopbackPort()}`,
  });
  try {
    const notes = await pushLabImages(host, {
      busybox: sources.busybox,
      workDir: join(dir, 'images'),
      registryUrl: loopback.url,
      hello: images.hello,
      podinfo: images.podinfo,
      podinfoBuild: sources.podinfo,
    });
    writeFileSync(join(dir, 'images.txt'), `${notes.join('\n')}\n`);
  } finally {
    await stopProcess(loopback.pid, 5_000);
  }
}
