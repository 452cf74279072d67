// Stage 10: containerd 2.x is installed at the lesson's paths, runs as a service, and pulls the
// lesson's hello image. Walking, it installs and starts containerd as the lesson does, then pulls
// the image; inspecting, it pulls into the run's own namespace, which is removed afterwards, and
// its three checks run side by side (each is judged only once the one it needs has passed).
import { basename, dirname } from 'node:path';
import { SECTIONS, STAGES } from '../helpers/checks/catalogue.ts';
import { check, fail, observedCommand, require, stage } from '../helpers/checks/check.ts';
import { ctr, ctrIn, ctrPull } from '../helpers/system/containerd.ts';
import { findElsewhere } from '../helpers/checks/diagnose.ts';
import {
  type Diagnosis,
  expectAbsentBeforeStep,
  expectMode,
  expectPinnedVersion,
  failWith,
} from '../helpers/checks/expectations.ts';
import type { Host } from '../helpers/host/host.ts';
import type { Profile } from '../helpers/profile.ts';
import { serviceStatus } from '../helpers/system/service.ts';
import { parseVersion } from '../helpers/system/versions.ts';

const { installContainerd, meetCtr } = SECTIONS;

/** What the lesson unpacks from containerd's release: containerd, ctr and the runc shim. */
const containerdBinaries = (profile: Profile) => [profile.paths.containerd, profile.paths.ctr, profile.paths.shim];

stage(STAGES.containerd, () => {
  check(
    'C1',
    {
      step: {
        before: ({ host, profile }) =>
          expectAbsentBeforeStep(host, installContainerd, containerdBinaries(profile), {
            what: 'containerd binaries',
            hostWithout: "containerd at the lesson's paths",
          }),
        perform: (c) => c.walk!.installContainerd(),
      },
    },
    async (c) => {
      const { host, profile } = c;
      const binaries = containerdBinaries(profile);
      // asked at once, judged in order
      const [stats, r] = await Promise.all([host.statAll(binaries), host.run([profile.paths.containerd, '--version'])]);
      for (const b of binaries) {
        const st = stats.get(b);
        if (!st) failWith(`${b} exists`, await diagnoseMissingBinary(host, b));
        expectMode(b, st, 'executable', {
          hint: 'the release tarball keeps its modes: unpack it with tar, do not copy the files by hand',
          cause: `${b} is not executable`,
        });
      }
      const version = parseVersion(r.stdout);
      expectPinnedVersion({
        tool: 'containerd',
        pinned: profile.versions.containerd,
        version,
        run: r,
        reported: `containerd reports ${version}: ${r.stdout.trim()}`,
        hint:
          `lesson step ${installContainerd.step} downloads containerd ${profile.versions.containerd}; ` +
          "an older containerd (Debian's 1.6, say) is another binary",
      });
    },
  );

  check('C2', { step: { perform: (c) => c.walk!.startContainerd() } }, async (c) => {
    const { host, profile } = c;
    // asked at once, judged in order
    const [service, r] = await Promise.all([
      serviceStatus(host, profile),
      host.run(ctr(profile, 'version'), { timeoutMs: 10_000 }),
    ]);
    if (service.failure) fail(service.failure);
    require(r.exitCode === 0, {
      expected: `containerd answers on ${profile.paths.socket}`,
      observed: observedCommand(r),
      hint: 'is the service running? `systemctl status containerd`, `journalctl -u containerd`',
      cause: `containerd does not answer on ${profile.paths.socket}`,
    });
    const client = /Client:[\s\S]*?Version:\s*(\S+)/.exec(r.stdout)?.[1];
    const server = /Server:[\s\S]*?Version:\s*(\S+)/.exec(r.stdout)?.[1];
    require(client !== undefined && client === server, {
      expected: "the daemon's version matches the client's (one containerd install, not two)",
      observed: `ctr ${client ?? '?'}, daemon ${server ?? '?'}`,
      hint:
        'another containerd (a distribution package?) may be the one running: ' +
        '`readlink /proc/$(pidof containerd)/exe`',
      cause: 'the running daemon is another containerd than the one installed',
    });
    if (service.soft) fail(service.soft);
  });

  check('C3', async ({ host, profile, namespace }) => {
    const pull = await host.run(ctrPull(profile, profile.images.hello, namespace), { timeoutMs: 120_000 });
    require(pull.exitCode === 0, {
      expected: `\`ctr images pull ${profile.images.hello}\` succeeds`,
      observed: observedCommand(pull),
      hint: `lesson step ${meetCtr.step}: check the image name and that the host reaches ghcr.io`,
      cause: 'the hello image cannot be pulled',
    });
    const list = await host.capture(ctrIn(profile, namespace, 'images', 'ls', '-q'));
    require(list.split(/\n/).includes(profile.images.hello), {
      expected: `${profile.images.hello} is listed by \`ctr images ls\``,
      observed: `listed: ${list.split(/\n/).join(', ') || '(nothing)'}`,
      hint: 'ctr works in the "default" namespace unless told otherwise (-n)',
      cause: 'the pulled image is not listed',
    });
  });
});

/** C1: a containerd binary is missing; the usual slip is the tarball (which holds bin/…)
 * unpacked into /usr/local/bin instead of /usr/local, leaving it in /usr/local/bin/bin. */
async function diagnoseMissingBinary(host: Host, binary: string): Promise<Diagnosis> {
  // the release's bin/ lands in the prefix's bin: /usr/local for the lesson
  const bin = dirname(binary);
  const prefix = dirname(bin);
  const found = (await findElsewhere(host, basename(binary), [dirname(binary)], 2)).filter((f) => f !== binary);
  if (found.length)
    return {
      observed: `${binary} is missing; found ${found.join(', ')}`,
      hint:
        `the release tarball holds a bin/ folder: unpack it into ${prefix} (\`tar xzvofC … ${prefix}\`), ` +
        `not into ${bin}`,
      cause: 'containerd was unpacked into the wrong folder',
    };
  return {
    observed: `${binary} is missing`,
    hint:
      `lesson step ${installContainerd.step}: unpack the containerd release into ${prefix} ` +
      `(\`tar xzvofC … ${prefix}\`)`,
    cause: `${binary} is missing`,
  };
}
