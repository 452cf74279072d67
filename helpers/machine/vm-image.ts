/**
 * The VM's Debian image: debootstrapped once per release (the nspawn machine's packages, plus a
 * kernel, its initramfs and udev), made generic — no host keys, no machine id, nothing of any one
 * VM — and written into an ext4 disk image beside its kernel and initrd. Every VM boots a qcow2
 * overlay of it; what makes a VM its own (its keys, name, the registry's CA) comes in at boot
 * through QEMU's fw_cfg, read by the image's `lesson-check-seed` unit before sshd starts.
 */
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { hostArch } from '../sources/github-source.ts';
import { MACHINE_CACHE, MachineError, PACKAGES, cachedBuild, debootstrap } from './rootfs.ts';

/** The Debian releases a VM can be: 12 and 13. */
export const VM_RELEASES = ['bookworm', 'trixie'] as const;
export type VmRelease = (typeof VM_RELEASES)[number];

/** QEMU's user network, as the guest sees it: its own address, and where its forwards answer. */
export const GUEST_NET = { address: '10.0.2.15/24', registry: '10.0.2.100' };

export interface VmImage {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  fromCache: boolean;
}

/** Runs at boot, before sshd: this VM's files from fw_cfg (a tar), the lesson's registry names
 * and its CA, the network (the address only: the guest has no route beyond QEMU's forwards),
 * and the disk of what the VM is given (Node.js, this project, the assets) at /opt/lesson-check. */
const SEED_SCRIPT = `#!/bin/sh
# lesson-check: this VM's own keys, name and network, handed in by QEMU (fw_cfg)
set -eu
modprobe qemu_fw_cfg 2>/dev/null || true
seed=/sys/firmware/qemu_fw_cfg/by_name/opt/lesson-check/seed/raw
i=0
while [ ! -e "$seed" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
tar -x -C / -f "$seed"
hostname "$(cat /etc/hostname)"
cat /run/lesson-check-seed/hosts >> /etc/hosts
cat /run/lesson-check-seed/ca.crt >> /etc/ssl/certs/ca-certificates.crt
ip link set lo up
ip link set eth0 up
ip addr add ${GUEST_NET.address} dev eth0
if [ -b /dev/vdb ]; then mkdir -p /opt/lesson-check; mount /dev/vdb /opt/lesson-check; fi
`;

const SEED_UNIT = `[Unit]
Description=lesson-check: this VM's keys, name and network (from QEMU's fw_cfg)
After=local-fs.target systemd-modules-load.service
Before=ssh.service network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/lesson-check-seed

[Install]
WantedBy=multi-user.target
`;

/** The cached image of `release`, built on first use (about 2 minutes: the debootstrap). */
export function cachedVmImage(host: Host, release: VmRelease, cacheRoot = MACHINE_CACHE): Promise<VmImage> {
  if (hostArch() !== 'amd64') throw new MachineError('a VM is amd64 only (qemu-system-x86_64)');
  const dir = join(cacheRoot, `vm-${release}-${hostArch()}`);
  return cachedBuild(host, {
    dir,
    label: `building a Debian ${release} VM image (once: about 2 minutes)`,
    build: async (tmp) => {
      const rootfs = join(tmp, 'rootfs');
      mkdirSync(tmp, { recursive: true });
      await debootstrap(host, release, [...PACKAGES, 'linux-image-amd64', 'initramfs-tools', 'udev'], rootfs);
      makeGeneric(rootfs);
      const boot = readdirSync(join(rootfs, 'boot'));
      const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
      const initrd = boot.find((f) => f.startsWith('initrd.img-'));
      if (!kernel || !initrd) throw new MachineError(`no kernel or initrd in the debootstrapped ${release}`);
      copyFileSync(join(rootfs, 'boot', kernel), join(tmp, 'vmlinuz'));
      copyFileSync(join(rootfs, 'boot', initrd), join(tmp, 'initrd.img'));
      // sparse: the disk takes what the files take; the guest has room for the lesson's images
      await host.ensure(['truncate', '-s', '8G', join(tmp, 'disk.raw')]);
      await host.ensure(['mkfs.ext4', '-q', '-F', '-L', 'lesson-check', '-d', rootfs, join(tmp, 'disk.raw')], {
        timeoutMs: 300_000,
      });
      rmSync(rootfs, { recursive: true, force: true });
    },
  }).then(({ fromCache }) => ({
    dir,
    disk: join(dir, 'disk.raw'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    fromCache,
  }));
}

/** Nothing of one VM in the image: no host keys (each VM's come through fw_cfg), an empty
 * machine id (systemd makes one at each first boot), the root file system in fstab, sshd on
 * keys only; apt's timers masked (the guest has no network to reach a mirror), as is the
 * first-boot key generation (RSA keys take seconds under emulation, and are not used). */
function makeGeneric(rootfs: string): void {
  const at = (p: string) => join(rootfs, p);
  for (const f of readdirSync(at('etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) rmSync(at(`etc/ssh/${f}`));
  writeFileSync(at('etc/machine-id'), '');
  writeFileSync(at('etc/fstab'), '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  mkdirSync(at('etc/ssh/sshd_config.d'), { recursive: true });
  writeFileSync(
    at('etc/ssh/sshd_config.d/lesson-check.conf'),
    'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n',
  );
  for (const unit of ['sshd-keygen.service', 'apt-daily.timer', 'apt-daily-upgrade.timer']) {
    rmSync(at(`etc/systemd/system/${unit}`), { force: true });
    symlinkSync('/dev/null', at(`etc/systemd/system/${unit}`));
  }
  writeFileSync(at('usr/local/sbin/lesson-check-seed'), SEED_SCRIPT);
  chmodSync(at('usr/local/sbin/lesson-check-seed'), 0o755);
  writeFileSync(at('etc/systemd/system/lesson-check-seed.service'), SEED_UNIT);
  mkdirSync(at('etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync(
    '/etc/systemd/system/lesson-check-seed.service',
    at('etc/systemd/system/multi-user.target.wants/lesson-check-seed.service'),
  );
}
