// Stage 00: the host can run the lesson at all. Needs nothing but the host itself;
// everything it creates to find out (a throwaway namespace, a temp dir) is gone when it ends.
// Weight 0: the host is the lab's, not the student's work.
import { STAGES } from '../helpers/checks/catalogue.ts';
import { check, observedCommand, require, stage } from '../helpers/checks/check.ts';
import { cgroupVersion, overlayUsable } from '../helpers/system/host-probes.ts';

stage(STAGES.host, () => {
  check('H1', async ({ host }) => {
    const uid = await host.capture(['id', '-u']);
    require(uid === '0', {
      expected: 'commands run as root (the lesson uses sudo)',
      observed: `\`id -u\` printed ${uid}`,
      hint: 'run lesson-check as root, or with sudo',
      cause: 'not running as root',
    });
  });

  check('H2', async ({ host }) => {
    const [kernel, machine] = (await host.capture(['uname', '-s', '-m'])).split(/\s+/);
    require(kernel === 'Linux' && (machine === 'x86_64' || machine === 'aarch64'), {
      expected: 'Linux on x86_64 (amd64) or aarch64 (arm64): the lesson downloads only those assets',
      observed: `\`uname -s -m\` printed ${kernel} ${machine}`,
      hint: "the lesson's release assets exist for linux-amd64 and linux-arm64 only",
      cause: 'an unsupported platform',
    });
  });

  check('H3', async ({ host }) => {
    // the three probes at once, judged in order
    const [overlay, cgroups, netns] = await Promise.all([
      overlayUsable(host),
      cgroupVersion(host),
      host.run(['unshare', '--net', '--', 'true']),
    ]);
    require(overlay === true, {
      expected: "an overlay filesystem can be mounted (containerd's default snapshotter)",
      observed: String(overlay),
      hint: 'load the module: `modprobe overlay`; check the kernel has CONFIG_OVERLAY_FS',
      cause: 'overlayfs is unavailable',
    });
    host.note(`cgroups: ${cgroups}`);
    require(cgroups.startsWith('v'), {
      expected: 'a cgroup v1 or v2 hierarchy at /sys/fs/cgroup',
      observed: cgroups,
      hint: 'mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)',
      cause: 'no cgroup hierarchy',
    });
    require(netns.exitCode === 0, {
      expected: 'a network namespace can be created (CNI needs one per container)',
      observed: observedCommand(netns),
      hint: 'the kernel needs CONFIG_NET_NS; inside a container, run privileged',
      cause: 'network namespaces are unavailable',
    });
  });

  check('H4', async ({ host, profile }) => {
    // one shell asks for all of them (command -v is a shell builtin): it prints the missing ones
    const r = await host.run([
      'sh',
      '-c',
      'for t do command -v -- "$t" >/dev/null || echo "$t"; done',
      'sh',
      ...profile.expect.hostTools,
    ]);
    require(r.exitCode === 0, {
      expected: 'sh runs',
      observed: observedCommand(r),
      hint: 'the host has no working /bin/sh',
    });
    const missing = r.stdout.split('\n').filter(Boolean);
    require(missing.length === 0, {
      expected: `${profile.expect.hostTools.join(', ')} on PATH (the lesson downloads with curl and unpacks with tar)`,
      observed: `missing: ${missing.join(', ')}`,
      hint: `install them: \`apt-get install ${missing.join(' ')}\``,
      cause: `missing tools: ${missing.join(', ')}`,
    });
  });
});
