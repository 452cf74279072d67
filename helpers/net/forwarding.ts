/**
 * net.ipv4.ip_forward is one setting for a whole network namespace (the host's, for everything
 * on it), and the bridge plugin turns it on for a gateway bridge. Runs at once on one host (two
 * labs, two verifies, a class graded on a shared machine) must not each put back what they found:
 * one that found it on because another had turned it on would leave it on. So the bridge probes
 * share it: each holds a claim while its bridge may exist; the first claim records the value
 * found; the last release puts that back and leaves nothing. Both run on the host (through the
 * transport), under flock on the setting itself. A lab claims it too, for all its life (its
 * nerdctl network is a gateway bridge as well).
 */
import type { CommandResult } from '../host/transport.ts';
import type { Host } from '../host/host.ts';

const SETTING = '/proc/sys/net/ipv4/ip_forward';
const CLAIMS = '/run/lesson-check-ip-forward';

// The setting is one per network namespace (a lab run in `unshare -n`, a machine's own), while
// /run is the host's: the claims are kept per namespace, in a folder named after its inode.
const HERE = 'd="$1/$(stat -L -c %i /proc/self/ns/net)"';
const CLAIM = `${HERE} && mkdir -p "$d" && { [ -e "$d/original" ] || cat "$3" > "$d/original"; } && : > "$d/claim.$2"`;
const RELEASE =
  `${HERE}; rm -f "$d/claim.$2"; ` +
  'if [ -d "$d" ] && ! ls -A "$d" | grep -q "^claim\\."; then ' +
  '[ "$(cat "$d/original" 2>/dev/null)" = 0 ] && sysctl -q -w net.ipv4.ip_forward=0; rm -rf "$d"; ' +
  'rmdir "$1" 2>/dev/null; fi; true';

/** Before a CNI ADD that may turn forwarding on. */
export function claimForwarding(host: Host, runId: string): Promise<CommandResult> {
  return host.ensure(['flock', SETTING, 'sh', '-c', CLAIM, 'sh', CLAIMS, runId, SETTING]);
}

/** A lab's own claim, beside its K4 probe's (which goes by the lab's id): taken before anything of
 * the lab can turn forwarding on (nerdctl's gateway bridge at K2), let go at teardown. */
export function labClaim(labId: string): string {
  return `${labId}-lab`;
}

/** After the bridge is gone (or when a run cut short is swept): the last one out restores it. */
export async function releaseForwarding(host: Host, runId: string): Promise<void> {
  await host.anyhow(['flock', SETTING, 'sh', '-c', RELEASE, 'sh', CLAIMS, runId]);
}

/** The claims of a namespace that no longer exists (its setting went with it): let go of, and
 * its folder removed once no claim is left in it. Nothing is put back: there is nothing to. */
const DROP =
  'd="$1/$3"; rm -f "$d/claim.$2"; if [ -d "$d" ] && ! ls -A "$d" | grep -q "^claim\\."; then ' +
  'rm -rf "$d"; rmdir "$1" 2>/dev/null; fi; true';

export async function dropForwardingClaim(host: Host, runId: string, netnsInode: number): Promise<void> {
  await host.anyhow(['flock', SETTING, 'sh', '-c', DROP, 'sh', CLAIMS, runId, String(netnsInode)]);
}
