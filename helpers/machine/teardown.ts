/**
 * Total, idempotent teardown of a machine, driven by what is on the host: systemd-nspawn is asked
 * to shut the machine down (SIGTERM: a clean poweroff), then whatever still runs from its folder
 * is killed; its registry, mounts, veth, cgroups (`/lc-m-<id>` in every hierarchy, deepest first)
 * and folder are removed. Safe on a machine that never finished booting, and twice.
 */
import { existsSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { readJsonFileIfAny } from '../util/json-file.ts';
import { readdirSafe } from '../util/files.ts';
import {
  type TeardownReport,
  killProcessesUnder,
  namespaceCgroups,
  removeEmptyDirsNotIn,
  unmountUnder,
} from '../util/processes.ts';
import { stopProcess } from '../offline/supervisor.ts';
import { MACHINES_ROOT, type MachineState, NSPAWN_HOST_DIRS } from './machine.ts';
import { runLabel } from '../run/run-label.ts';

export interface MachineTeardownReport extends TeardownReport {
  name: string;
  mounts: number;
  veth: boolean;
  cgroups: number;
}

export async function teardownMachine(host: Host, dir: string): Promise<MachineTeardownReport> {
  const state = readState(dir);
  const id = state?.id ?? dir.split('/').pop() ?? '';
  const report: MachineTeardownReport = {
    name: state?.name ?? runLabel(id),
    processes: 0,
    mounts: 0,
    veth: false,
    cgroups: 0,
    removed: false,
  };
  if (state?.nspawnPid) await stopProcess(state.nspawnPid, 15_000);
  if (state?.registryPid) await stopProcess(state.registryPid, 5_000);
  report.processes = await killProcessesUnder(dir);
  report.mounts = await unmountUnder(host, dir);
  // nspawn removes the veth when it ends; one it could not is removed here
  const veth = `ve-${report.name}`;
  if ((await host.run(['ip', 'link', 'show', veth])).exitCode === 0) {
    await host.anyhow(['ip', 'link', 'delete', veth]);
    report.veth = true;
  }
  report.cgroups = removeCgroupTree(`lc-m-${id}`);
  // what its containers made in the host's own hierarchies, when empty (rmdir), and never one that
  // was there before it
  if (state?.hostCgroupsBefore)
    report.cgroups += removeEmptyDirsNotIn(namespaceCgroups(['default']), state.hostCgroupsBefore).length;
  // nspawn's own host dirs, when it made them and no other machine uses them
  if (state) removeEmptyDirsNotIn(NSPAWN_HOST_DIRS, state.nspawnDirsBefore ?? NSPAWN_HOST_DIRS);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  report.removed = !existsSync(dir);
  return report;
}

/** Removes `/sys/fs/cgroup/<hierarchy>/<name>` and every cgroup below it, deepest first (rmdir:
 * a cgroup still in use stays). Returns how many went. */
function removeCgroupTree(name: string): number {
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : readdirSafe('/sys/fs/cgroup').map((h) => `/sys/fs/cgroup/${h}`);
  let removed = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSafe(dir)) if (statSync(join(dir, entry)).isDirectory()) walk(join(dir, entry));
    try {
      rmdirSync(dir);
      removed++;
    } catch {
      // in use, or gone already
    }
  };
  for (const root of roots) if (existsSync(join(root, name))) walk(join(root, name));
  return removed;
}

function readState(dir: string): MachineState | undefined {
  return readJsonFileIfAny<MachineState>(join(dir, 'machine.json'));
}

/** Every machine left up (kept, or by a run that was killed). */
export function machineDirs(): string[] {
  return readdirSafe(MACHINES_ROOT).map((id) => join(MACHINES_ROOT, id));
}
