/** The network objects a run or a lab makes on the host (network namespaces, links, a subnet),
 * named after its id, and their sweep: shared by verify's K4 probe, the lab and the run records. */
import type { Host } from '../host/host.ts';
import { runLabel } from '../run/run-label.ts';

/** The name every network object of a run starts with: netns `lc-<id>-…`, links `lc<id>…`. */
export function netNames(id: string): { netns: string; link: string } {
  return { netns: runLabel(id, ''), link: `lc${id}` };
}

/** At most this many of each kind are removed in one sweep; a name is printable ASCII. */
const MAX_OBJECTS = 16;
const OBJECT_NAME = /^[\x21-\x7e]{1,64}$/;

/** Deletes the netns and links named after a lab or run; says which. */
export async function removeNetObjects(host: Host, id: string): Promise<{ netns: string[]; links: string[] }> {
  const names = netNames(id);
  const removed = { netns: [] as string[], links: [] as string[] };
  // a host's lists are bounded to what a run or a lab makes (a netns and a bridge or two, and the
  // veths): `ip` printing 10⁵ names of ours costs one command each for these, no more
  const netnsList = (await host.run(['ip', 'netns', 'list'])).stdout;
  const netns = netnsList.split('\n', 10_000).map((line) => line.split(' ')[0] ?? '');
  for (const ns of [...new Set(netns.filter((n) => OBJECT_NAME.test(n) && n.startsWith(names.netns)))]) {
    if (host.stopped || removed.netns.length >= MAX_OBJECTS) break;
    await host.anyhow(['ip', 'netns', 'delete', ns]);
    removed.netns.push(ns);
  }
  const links = (await host.run(['ip', '-o', 'link', 'show'])).stdout;
  for (const m of links.matchAll(/^\d+: ([^:@\s]+)/gm)) {
    if (host.stopped || removed.links.length >= MAX_OBJECTS) break;
    if (m[1] && OBJECT_NAME.test(m[1]) && m[1].startsWith(names.link) && !removed.links.includes(m[1])) {
      await host.anyhow(['ip', 'link', 'delete', m[1]]);
      removed.links.push(m[1]);
    }
  }
  return removed;
}

/** A /24 in 10.0.0.0/8 that no address or route on the host touches (every table: the local
 * table holds a route for each of the host's own addresses). */
export async function freeSubnet(host: Host): Promise<string> {
  const used = await host.capture(['ip', '-4', '-o', 'route', 'show', 'table', 'all']);
  for (let i = 0; i < 200; i++) {
    const a = 200 + Math.floor(Math.random() * 55);
    const b = Math.floor(Math.random() * 256);
    if (!used.includes(`10.${a}.${b}.`)) return `10.${a}.${b}.0/24`;
  }
  throw new Error('no free 10.x.y.0/24 subnet found for the CNI probe');
}
