/**
 * A network namespace known by its inode (what /proc/PID/ns/net names), so that what a lab made
 * in one is torn down there: `lab --down` run from another namespace (a lab in `unshare -n`
 * removing a lab of the host's, or the other way round) must delete the lab's links and let go
 * of its forwarding claim in the lab's namespace, not in its own. Local only, as labs are.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Host } from '../host/host.ts';
import { LocalTransport } from '../host/transport.ts';

/** The network namespace this process is in. */
export function currentNetns(): number {
  return statSync('/proc/self/ns/net').ino;
}

/** A host whose commands run in network namespace `inode`: `host` itself when this process is in
 * it; through nsenter otherwise, by a process of that namespace or a name `ip netns` gave it;
 * undefined when neither is left (the namespace is gone, and its links and setting with it). */
export function hostInNetns(host: Host, inode: number): Host | undefined {
  if (currentNetns() === inode) return host;
  const handle = [
    ...names('/run/netns'),
    ...names('/proc')
      .filter((p) => /\/\d+$/.test(p))
      .map((p) => `${p}/ns/net`),
  ].find((file) => inodeOf(file) === inode);
  if (!handle) return undefined;
  const local = new LocalTransport();
  return new Host({
    host: host.name,
    run: (argv, options) => local.run(['nsenter', `--net=${handle}`, ...argv], options),
  });
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir).map((e) => join(dir, e));
  } catch {
    return [];
  }
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}
