/**
 * The lab's image registry: Debian's `docker-registry` (the distribution registry), supervised,
 * on an address of the lab's own. Plain HTTP on loopback for the sandbox lab; HTTPS with a
 * certificate for the lesson's registry names where a machine must reach it under those names.
 */
import { writeFileSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { isAlive, startDaemon } from './supervisor.ts';

export interface Registry {
  pid: number;
  url: string;
  port: number;
}

/** Starts the registry on `addr` (host:port, or the path of a Unix socket) with its storage in
 * `dir`; resolves once it answers. */
export async function startRegistry(
  host: Host,
  opts: { binary: string; dir: string; name: string; addr: string; tls?: { certificate: string; key: string } },
): Promise<Registry> {
  const config = join(opts.dir, `${opts.name}.yml`);
  const unix = opts.addr.startsWith('/');
  const tls = opts.tls ? `, tls: { certificate: ${opts.tls.certificate}, key: ${opts.tls.key} }` : '';
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${join(opts.dir, 'registry')} }, delete: { enabled: true } }`,
      `http: { addr: ${opts.addr}${unix ? ', net: unix' : ''}${tls} }`,
      '',
    ].join('\n'),
  );
  const log = join(opts.dir, `${opts.name}.log`);
  const pid = startDaemon([opts.binary, 'serve', config], { env: { PATH: '/usr/bin:/bin' }, logFile: log });
  const url = unix ? `unix:${opts.addr}` : `${opts.tls ? 'https' : 'http'}://${opts.addr}`;
  const port = unix ? 0 : Number(opts.addr.slice(opts.addr.lastIndexOf(':') + 1));
  await host.poll(
    `registry answering on ${url}/v2/`,
    async () => {
      if (!isAlive(pid)) throw new Error(`registry exited; see ${log}`);
      // a TLS registry (or one on a socket) is asked with a plain connect: our own fetch does not
      // trust its CA
      return (
        opts.tls || unix
          ? await connects(opts.addr)
          : (await fetch(`${url}/v2/`).catch(() => undefined))?.status === 200
      )
        ? true
        : undefined;
    },
    15_000,
  );
  return { pid, url, port };
}

/** Whether something accepts a connection on `addr` (host:port, or a Unix socket's path). */
function connects(addr: string): Promise<boolean> {
  const at = addr.lastIndexOf(':');
  return new Promise((done) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    if (addr.startsWith('/')) socket.connect(addr);
    else socket.connect(Number(addr.slice(at + 1)), addr.slice(0, at));
  });
}

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
