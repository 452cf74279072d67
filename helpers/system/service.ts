/**
 * Is containerd running as the profile says it should: a systemd unit (the lesson) or the lab's
 * supervised process? Answers with what is wrong, in lesson terms: a failure a check passes on.
 */
import { SECTIONS } from '../checks/catalogue.ts';
import type { CheckDetails } from '../checks/failure.ts';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';

export interface ServiceStatus {
  /** What C2 proves of the service, in words. */
  expected: string;
  pid?: number;
  /** What is wrong, as a failure; undefined when all is well. */
  failure?: CheckDetails;
  /** A mistake that leaves the daemon running as it should, for now (its dependents can go on):
   * the unit not enabled (it will not start at boot), or edited without `systemctl daemon-reload`. */
  soft?: CheckDetails;
}

/** A status whose problem is the failure's observed fact and its cause. */
function wrong(expected: string, problem: string, hint: string): ServiceStatus {
  return { expected, failure: { expected, observed: problem, hint, cause: problem } };
}

export async function serviceStatus(host: Host, profile: Profile): Promise<ServiceStatus> {
  return profile.service === 'systemd' ? systemdStatus(host, profile) : supervisedStatus(host, profile);
}

async function systemdStatus(host: Host, profile: Profile): Promise<ServiceStatus> {
  const expected = `${profile.paths.unitFile} runs ${profile.paths.containerd}, enabled and active`;
  const hint =
    `lesson step ${SECTIONS.installContainerd.step}: put containerd.service into /etc/systemd/system, ` +
    '`systemctl daemon-reload`, `systemctl enable --now containerd`';
  const unit = await host.readFile(profile.paths.unitFile);
  if (unit === undefined) return wrong(expected, `${profile.paths.unitFile} is missing`, hint);
  const execStart = /^ExecStart=\s*(\S+)/m.exec(unit)?.[1];
  if (execStart !== profile.paths.containerd)
    return wrong(
      expected,
      `the unit's ExecStart runs ${execStart ?? '(nothing)'}`,
      `use the unit file from the containerd release: it runs ${profile.paths.containerd}`,
    );
  const [enabled, active] = await Promise.all(
    ['is-enabled', 'is-active'].map(async (q) => (await host.run(['systemctl', q, 'containerd'])).stdout.trim()),
  );
  if (active !== 'active')
    return wrong(
      expected,
      `\`systemctl is-active containerd\` says ${active || '(nothing)'}`,
      enabled === 'enabled'
        ? '`systemctl start containerd`; `journalctl -u containerd` says why it stopped'
        : '`systemctl enable --now containerd`',
    );
  const [mainPid = '', needReload = ''] = (
    await host.capture(['systemctl', 'show', '--property', 'MainPID,NeedDaemonReload', '--value', 'containerd'])
  ).split('\n');
  // running, but not for long: it will not start at boot, or systemd still runs containerd as
  // the unit file it read before the edit says
  const soft: CheckDetails | undefined =
    enabled !== 'enabled'
      ? {
          expected,
          observed: `\`systemctl is-enabled containerd\` says ${enabled || '(nothing)'}`,
          hint: 'containerd runs now, but will not start at boot: `systemctl enable containerd`',
          cause: 'containerd is not enabled: it will not start at boot',
          dependentsMayRun: true,
        }
      : needReload.trim() === 'yes'
        ? {
            expected,
            observed: `${profile.paths.unitFile} changed on disk after systemd loaded it (NeedDaemonReload=yes)`,
            hint: 'after editing a unit file: `systemctl daemon-reload`, then `systemctl restart containerd`',
            cause: 'the unit file was edited without `systemctl daemon-reload`',
            dependentsMayRun: true,
          }
        : undefined;
  return { expected, pid: Number(mainPid) || undefined, soft };
}

async function supervisedStatus(host: Host, profile: Profile): Promise<ServiceStatus> {
  const expected = `the supervised containerd (PID in ${profile.paths.pidFile}) runs ${profile.paths.containerd}`;
  const hint = "the sandbox's containerd is not running: see the lab's containerd.log";
  const pidText = await host.readFile(profile.paths.pidFile);
  const pid = Number(pidText?.trim());
  if (!pid) return wrong(expected, `no PID in ${profile.paths.pidFile}`, hint);
  const exe = await host.run(['readlink', `/proc/${pid}/exe`]);
  if (exe.exitCode !== 0) return wrong(expected, `PID ${pid} is not running`, hint);
  if (exe.stdout.trim() !== profile.paths.containerd)
    return wrong(expected, `PID ${pid} runs ${exe.stdout.trim()}`, hint);
  return { expected, pid };
}

/** How long ago a process started and a file was last written (undefined: the file is missing),
 * both read by one shell at one moment, so that neither age is older than the other for having
 * been measured later. The process age comes from /proc (to 1/CLK_TCK s; no wall clock), the
 * file's from its mtime against the wall clock. */
export async function processAndFileAges(
  host: Host,
  pid: number,
  path: string,
): Promise<{ process: number; file: number | undefined; resolution: number }> {
  const script =
    'cat /proc/uptime "/proc/$1/stat" && getconf CLK_TCK && date +%s.%N && ' +
    '{ stat -c %.9Y -- "$2" 2>/dev/null || echo missing; }';
  const [uptime = '', stat = '', ticks = '', now = '', mtime = ''] = (
    await host.capture(['sh', '-c', script, 'sh', String(pid), path])
  ).split('\n');
  // field 22 (starttime, in clock ticks after boot); the command name in field 2 may hold spaces
  const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return {
    process: Number(uptime.split(' ')[0]) - startTicks / Number(ticks),
    file: mtime === 'missing' ? undefined : Number(now) - Number(mtime),
    // a start time is known to one clock tick only
    resolution: 1 / Number(ticks),
  };
}

/** systemd's default PATH for services, which a daemon without a PATH of its own gets. */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Every runc the daemon `pid` could find on its PATH (containerd's shim looks `runc` up there),
 * resolved to the real file, in PATH order, each once. */
export async function runcsOnDaemonPath(host: Host, pid: number): Promise<string[]> {
  const script =
    `p=$(tr '\\0' '\\n' < "/proc/$1/environ" | sed -n 's/^PATH=//p'); ` +
    `IFS=:; for d in \${p:-$2}; do readlink -e "$d/runc"; done; true`;
  const found = (await host.capture(['sh', '-c', script, 'sh', String(pid), SERVICE_PATH])).split('\n').filter(Boolean);
  return [...new Set(found)];
}
