/**
 * net.ipv4.ip_forward is one setting for the whole host, and the bridge plugin turns it on for a
 * gateway bridge. Runs at once on one host (two labs, two verifies, a class graded on a shared
 * machine) must not each put back what they found: one that found it on because another had
 * turned it on would leave it on. So the bridge probes share it: each holds a claim while its
 * bridge may exist; the first claim records the value found; the last release puts that back and
 * leaves nothing. Both run on the host (through the transport), under flock on the setting itself.
 */
import type { CommandResult } from './transport.ts';
import type { Host } from './host.ts';

const SETTING = '/proc/sys/net/ipv4/ip_forward';
const CLAIMS = '/run/lesson-check-ip-forward';

const CLAIM = 'mkdir -p "$1" && { [ -e "$1/original" ] || cat "$3" > "$1/original"; } && : > "$1/claim.$2"';
const RELEASE =
  'rm -f "$1/claim.$2"; ' +
  'if [ -d "$1" ] && ! ls -A "$1" | grep -q "^claim\\."; then ' +
  '[ "$(cat "$1/original" 2>/dev/null)" = 0 ] && sysctl -q -w net.ipv4.ip_forward=0; rm -rf "$1"; fi; true';

/** Before a CNI ADD that may turn forwarding on. */
export function claimForwarding(host: Host, runId: string): Promise<CommandResult> {
  return host.ensure(['flock', SETTING, 'sh', '-c', CLAIM, 'sh', CLAIMS, runId, SETTING]);
}

/** After the bridge is gone (or when a run cut short is swept): the last one out restores it. */
export async function releaseForwarding(host: Host, runId: string): Promise<void> {
  await host.anyhow(['flock', SETTING, 'sh', '-c', RELEASE, 'sh', CLAIMS, runId]);
}
