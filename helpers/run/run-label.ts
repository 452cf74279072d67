/** Everything a run (or a lab, or a machine) creates on a host is named after its id, so that
 * its teardown, and the next run's sweep, find it and nothing else: `lc-<id>` (its containerd
 * namespace, a machine), `lc-<id>-<what>` (a probe's container, netns, temp files). */
export function runLabel(id: string, what?: string): string {
  return what === undefined ? `lc-${id}` : `lc-${id}-${what}`;
}
