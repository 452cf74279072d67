#!/usr/bin/env bash
# The verify set as the bare commands a person would type, one after another, no reporting:
# the floor that `lesson-check verify` is measured against (bench/run.mjs). Same checks, same
# commands, same probes (its own containerd namespace, a throwaway netns), same cleanup.
# Usage: bench/bare-verify.sh PREFIX   (a kept lab's prefix; exits non-zero if a check fails)
set -euo pipefail
P=$1
id=bare$$
BIN=$P/usr/local/bin SBIN=$P/usr/local/sbin CNI=$P/opt/cni/bin
ctr() { "$BIN/ctr" --address "$P/run/containerd/containerd.sock" "$@"; }
NS=lc-$id HELLO=ghcr.io/sagikazarmark/docker-hello-world:latest PODINFO=ghcr.io/stefanprodan/podinfo:latest
run_flags=(--runc-root "$P/run/runc")
# grep -q would close the pipe early, and with pipefail the writer's SIGPIPE fails the script
has() { grep "$@" >/dev/null; }

# H1-H4
[ "$(id -u)" = 0 ]
uname -s -m | has -E '^Linux (x86_64|aarch64)$'
t=$(mktemp -d); mkdir "$t/l" "$t/u" "$t/w" "$t/m"
unshare --mount -- mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m"; rm -rf "$t"
stat -f -c %T /sys/fs/cgroup >/dev/null
unshare --net -- true
command -v tar curl >/dev/null
# C1-C3
for b in containerd ctr containerd-shim-runc-v2; do [ -x "$BIN/$b" ]; done
"$BIN/containerd" --version | has .
pid=$(cat "$P/run/containerd/containerd.pid"); [ "$(readlink "/proc/$pid/exe")" = "$BIN/containerd" ]
ctr version | has Server
ctr -n "$NS" images pull --hosts-dir "$P/etc/containerd/certs.d" "$HELLO" >/dev/null
ctr -n "$NS" images ls -q | has -x "$HELLO"
# R1: the same run with a runc that exists nowhere
if ctr -n "$NS" run "${run_flags[@]}" --cgroup "/lc-$id/r1" --rm --runc-binary "absent-runc-$id" "$HELLO" "$id-r1" 2>"/tmp/$id.err"; then exit 1; fi
grep -q "executable file not found in \$PATH" "/tmp/$id.err"; rm -f "/tmp/$id.err"
! ctr -n "$NS" containers ls -q | has -x "$id-r1"
# R2-R5
[ "$(stat -c %a "$SBIN/runc")" = 755 ]; "$SBIN/runc" --version | has 'runc version'
grep -q '^version = 3' "$P/etc/containerd/config.toml"; grep -q 'SystemdCgroup = true' "$P/etc/containerd/config.toml"
"$BIN/containerd" --config "$P/etc/containerd/config.toml" config dump | has 'SystemdCgroup = true'
cat /proc/uptime "/proc/$pid/stat" >/dev/null; getconf CLK_TCK >/dev/null; stat -c %.9Y "$P/etc/containerd/config.toml" >/dev/null
# R6
ctr -n "$NS" run "${run_flags[@]}" --cgroup "/lc-$id/r6" --rm "$HELLO" "$id-r6" | has 'Hello'
# K1
for p in bridge host-local portmap firewall tuning loopback; do echo '{}' | CNI_COMMAND=VERSION "$CNI/$p" | has supportedVersions; done
"$CNI/bridge" 2>&1 | has 'CNI bridge plugin'
# K4: a throwaway netns wired by the bridge plugin, podinfo in it, HTTP from the host
ip netns add "$id"
data=$(mktemp -d)
conf="{\"cniVersion\":\"1.0.0\",\"name\":\"$id\",\"type\":\"bridge\",\"bridge\":\"$id\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.254.77.0/24\"}]],\"dataDir\":\"$data\"}}"
cni() { echo "$conf" | CNI_COMMAND=$1 CNI_CONTAINERID=$id CNI_NETNS=/var/run/netns/$id CNI_IFNAME=eth0 CNI_PATH=$CNI "$CNI/bridge"; }
forward=$(cat /proc/sys/net/ipv4/ip_forward)
ip=$(cni ADD | grep -o '"address": *"[0-9.]*' | grep -o '[0-9.]*$')
ctr -n "$NS" images pull --hosts-dir "$P/etc/containerd/certs.d" "$PODINFO" >/dev/null
ctr -n "$NS" run "${run_flags[@]}" --cgroup "/lc-$id/k4" -d --with-ns "network:/var/run/netns/$id" "$PODINFO" "$id-k4"
until curl -fsS --max-time 2 "http://$ip:9898/" | has '"version"'; do sleep 0.1; done
ctr -n "$NS" tasks delete --force "$id-k4" >/dev/null 2>&1; ctr -n "$NS" containers delete "$id-k4"
cni DEL; ip link delete "$id"; ip netns delete "$id"; rm -rf "$data"
[ "$forward" = 1 ] || sysctl -q -w net.ipv4.ip_forward=0
# cleanup: the run's namespace, and the cgroup parent it used
ctr -n "$NS" images rm --sync "$HELLO" "$PODINFO" >/dev/null
until ctr namespaces remove "$NS" 2>/dev/null; do sleep 0.1; done
for h in /sys/fs/cgroup /sys/fs/cgroup/*; do [ -d "$h/lc-$id" ] && rmdir "$h/lc-$id"; done; true
