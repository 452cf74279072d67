#!/usr/bin/env bash
# Installs the Debian packages lesson-check needs, only those missing, so that `npm run lab` and
# `npm test` work on a fresh Debian or Ubuntu machine. Usage: scripts/install-deps.sh lab|machine|test
#   lab:     what the lab and the checks run (ip, unshare, curl, tar, ps, sysctl, apt-get download)
#   machine: the same, plus what `lesson-check machine` boots with: systemd-nspawn, debootstrap,
#            the OpenSSH client, openssl, and for --vm QEMU (the lesson walked on its own kernel)
#   test:    the same, plus chromium (the HTML report is rendered in it), the OpenSSH server (a
#            class is graded over ssh in the tests) and ansible-core (inventories are read
#            through ansible-inventory, and compared with the built-in reader)
#   all:     where a Go toolchain is, what the go source needs to build runc (gcc, libseccomp-dev)
set -euo pipefail
lab=(ca-certificates curl tar iproute2 util-linux mount procps coreutils dpkg apt debian-archive-keyring)
# the machine lab boots Debian with systemd-nspawn from a debootstrapped rootfs, and as a VM with
# QEMU (qemu-img for its overlay, socat for its registry forward, e2fsprogs for its disks)
machine=("${lab[@]}" openssh-client systemd-container debootstrap openssl qemu-system-x86 qemu-utils socat e2fsprogs)
test=("${machine[@]}" chromium openssh-server ansible-core)
case "${1:-}" in
  lab) wanted=("${lab[@]}") ;;
  machine) wanted=("${machine[@]}") ;;
  test) wanted=("${test[@]}") ;;
  *) echo "usage: $0 lab|machine|test" >&2; exit 2 ;;
esac
# the go source builds runc as upstream does, with cgo and libseccomp: only where Go is
if command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then
  wanted+=(gcc libc6-dev libseccomp-dev pkg-config)
fi
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "lesson-check needs these Debian packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 2
fi
echo "lesson-check: installing Debian's ${missing[*]} (once)" >&2
export DEBIAN_FRONTEND=noninteractive
# apt's and debconf's chatter goes to a log, shown only when the install fails (or with LC_VERBOSE=1)
log=$(mktemp -t lesson-check-install-deps.XXXXXX)
# keep packages' own services (sshd) from starting on install, unless the machine already says so
own_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
started=$SECONDS
status=0
if [ "${LC_VERBOSE:-}" = 1 ]; then
  { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } 2>&1 | tee "$log" >&2 || status=$?
else
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || status=$?
fi
[ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
if [ "$status" != 0 ]; then
  cat "$log" >&2
  echo "lesson-check: apt-get could not install ${missing[*]} (exit $status; its output above)" >&2
  rm -f "$log"
  exit 2
fi
rm -f "$log"
echo "lesson-check: installed in $((SECONDS - started)) s" >&2
