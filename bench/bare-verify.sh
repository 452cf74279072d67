#!/usr/bin/env bash
# The verify set as bare commands, one after another, no reporting: the floor that
# `lesson-check verify` is measured against (bench/run.mjs). The very commands verify runs (its
# transcript, check by check, nerdctl's checks too where the lab has nerdctl), with the same
# probes (a namespace of its own, a throwaway netns), the same run record in /run and the same
# cleanup and sweep at the end, each result judged as tersely as the shell allows.
# Usage: bench/bare-verify.sh PREFIX   (a kept lab's prefix; exits non-zero if a check fails)
set -euo pipefail
P=$1
id=bare$$
BIN=$P/usr/local/bin SBIN=$P/usr/local/sbin CNI=$P/opt/cni/bin CONFIG=$P/etc/containerd/config.toml
ctr() { "$BIN/ctr" --address "$P/run/containerd/containerd.sock" "$@"; }
NS=lc-$id HELLO=ghcr.io/sagikazarmark/docker-hello-world:latest PODINFO=ghcr.io/stefanprodan/podinfo:latest
run_flags=(--runc-root "$P/run/runc")
cgroup=/lc-$(basename "$P")
# grep -q would close the pipe early, and with pipefail the writer's SIGPIPE fails the script
has() { grep "$@" >/dev/null; }
nerdctl_at() { "$BIN/nerdctl" --address "$P/run/containerd/containerd.sock" "$@"; }
host_nerdctl() {
  nerdctl_at --data-root "$P/var/lib/nerdctl" --cni-path "$CNI" --cni-netconfpath "$P/etc/cni/net.d" \
    --hosts-dir "$P/etc/containerd/certs.d" "$@"
}
# the run's record (helpers/run/run-records.ts): records of runs that died are looked for, this one's written
RUNS=/run/lesson-check/runs
sh -c 'for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done; true' sh "$RUNS" >/dev/null
echo "{\"runId\":\"$id\"}" | sh -c 'mkdir -p "$1" && cat > "$2.tmp" && mv "$2.tmp" "$2"' sh "$RUNS" "$RUNS/$id.json"

# H1-H4
[ "$(id -u)" = 0 ]
uname -s -m | has -E '^Linux (x86_64|aarch64)$'
t=$(mktemp -d -t lesson-check-overlay.XXXXXX); mkdir "$t/lower" "$t/upper" "$t/work" "$t/merged"
unshare --mount -- mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged"; rm -rf -- "$t"
stat -f -c %T /sys/fs/cgroup /sys/fs/cgroup/unified | has -E 'cgroup2fs|tmpfs'
unshare --net -- true
[ -z "$(sh -c 'for t do command -v -- "$t" >/dev/null || echo "$t"; done' sh tar curl)" ]
# C1-C3
stat -L -c '%a|%s|%Y|%F|%n' -- "$BIN/containerd" "$BIN/ctr" "$BIN/containerd-shim-runc-v2" | has -c 'regular file'
"$BIN/containerd" --version | has .
pid=$(cat -- "$P/run/containerd/containerd.pid"); [ "$(readlink "/proc/$pid/exe")" = "$BIN/containerd" ]
ctr version | has Server
ctr --namespace "$NS" images pull --hosts-dir "$P/etc/containerd/certs.d" "$HELLO" >/dev/null
ctr --namespace "$NS" images ls -q | has -x "$HELLO"
# R1: the same run with a runc that exists nowhere
if err=$(ctr --namespace "$NS" run "${run_flags[@]}" --cgroup "$cgroup/$NS-r1" --rm --runc-binary "$NS-absent-runc" "$HELLO" "$NS-r1" 2>&1); then exit 1; fi
[[ $err == *'executable file not found in $PATH'* ]]
! ctr --namespace "$NS" containers ls -q | has -x "$NS-r1"
# R1: no runc on containerd's PATH but the lesson's
pid=$(cat -- "$P/run/containerd/containerd.pid"); readlink "/proc/$pid/exe" >/dev/null
lessons=$(readlink -e "$SBIN/runc")
! sh -c 'p=$(tr '\''\0'\'' '\''\n'\'' < "/proc/$1/environ" | sed -n '\''s/^PATH=//p'\''); IFS=:; for d in ${p:-$2}; do readlink -e "$d/runc"; done; true' \
  sh "$pid" /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin | has -vx "$lessons"
# R2-R5
[ "$(stat -L -c '%a|%s|%Y|%F|%n' -- "$SBIN/runc" | cut -d'|' -f1)" = 755 ]; "$SBIN/runc" --version | has 'runc version'
cat -- "$CONFIG" | has -E '^version = 3'
"$BIN/containerd" --config "$CONFIG" config dump | has 'SystemdCgroup = true'
pid=$(cat -- "$P/run/containerd/containerd.pid"); [ "$(readlink "/proc/$pid/exe")" = "$BIN/containerd" ]
sh -c 'cat /proc/uptime "/proc/$1/stat" && getconf CLK_TCK && date +%s.%N && { stat -c %.9Y -- "$2" 2>/dev/null || echo missing; }' sh "$pid" "$CONFIG" >/dev/null
# R6
ctr --namespace "$NS" run "${run_flags[@]}" --cgroup "$cgroup/$NS-r6" --rm "$HELLO" "$NS-r6" | has 'Hello'
! ctr --namespace "$NS" containers ls -q | has -x "$NS-r6"
# N1-N3, where the lab has nerdctl: N2 against an empty plugin dir, nerdctl's state in temp dirs
if [ -x "$BIN/nerdctl" ]; then
  [ "$(stat -L -c '%a|%s|%Y|%F|%n' -- "$BIN/nerdctl" | cut -d'|' -f1)" = 755 ]
  "$BIN/nerdctl" --version | has 'nerdctl version'
  [ "$(stat -L -c '%a|%s|%Y|%F|%n' -- "$P/etc/bash_completion.d/nerdctl" | cut -d'|' -f2)" != 0 ]
  n2=$(mktemp -d -t "$NS-n2.XXXXXX"); mkdir -p "$n2/net.d"; cp -- "$P/etc/cni/net.d/nerdctl-bridge.conflist" "$n2/net.d"
  if err=$(nerdctl_at --namespace "$NS" --data-root "$n2/data" --cni-path "$n2" --cni-netconfpath "$n2/net.d" \
    --hosts-dir "$P/etc/containerd/certs.d" run --rm "$PODINFO" /home/app/podinfo --version 2>&1); then exit 1; fi
  [[ $err == *'"bridge'* ]]
  rm -rf -- "$n2"
  n3=$(mktemp -d -t "$NS-n3.XXXXXX")
  nerdctl_at --namespace "$NS" --data-root "$n3/data" --cni-path "$CNI" --cni-netconfpath "$n3/net.d" \
    --hosts-dir "$P/etc/containerd/certs.d" run --net host --rm "$PODINFO" /home/app/podinfo --version | has -E '[0-9]+\.[0-9]+\.[0-9]+'
  rm -rf -- "$n3"
fi
# K1
for p in bridge host-local portmap firewall tuning loopback; do echo '{}' | CNI_COMMAND=VERSION "$CNI/$p" | has supportedVersions; done
"$CNI/bridge" 2>&1 | has 'CNI bridge plugin'
# K2, K3 (nerdctl): podinfo Up on nerdctl's bridge, answering on its IP
if [ -x "$BIN/nerdctl" ]; then
  host_nerdctl ps -a --filter name=podinfo --format '{{.Names}} {{.Status}}' | has -E '^podinfo Up'
  podinfo_ip=$(host_nerdctl inspect --format '{{ .NetworkSettings.IPAddress }}' podinfo)
  curl --silent --show-error --fail --max-time 2 "http://$podinfo_ip:9898/" | has '"version"'
fi
# K4: a throwaway netns wired by the bridge plugin, podinfo in it, HTTP from the host
netns=$NS-k4 bridge=lc${id}k4 data=/tmp/lesson-check-$NS-k4
ip netns add "$netns"
# the claim on IPv4 forwarding (helpers/net/forwarding.ts), and its release below
flock /proc/sys/net/ipv4/ip_forward sh -c 'd="$1/$(stat -L -c %i /proc/self/ns/net)" && mkdir -p "$d" && { [ -e "$d/original" ] || cat "$3" > "$d/original"; } && : > "$d/claim.$2"' sh /run/lesson-check-ip-forward "$NS" /proc/sys/net/ipv4/ip_forward
ip -4 -o route show table all | has -v 10.254.77.
conf="{\"cniVersion\":\"1.0.0\",\"name\":\"$NS-k4\",\"type\":\"bridge\",\"bridge\":\"$bridge\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.254.77.0/24\"}]],\"dataDir\":\"$data\"}}"
cni() { echo "$conf" | CNI_COMMAND=$1 CNI_CONTAINERID=$NS-k4 CNI_NETNS=/var/run/netns/$netns CNI_IFNAME=eth0 CNI_PATH=$CNI "$CNI/bridge"; }
ip=$(cni ADD | grep -o '"address": *"[0-9.]*' | grep -o '[0-9.]*$')
ctr --namespace "$NS" images pull --hosts-dir "$P/etc/containerd/certs.d" "$PODINFO" >/dev/null
ctr --namespace "$NS" run "${run_flags[@]}" --cgroup "$cgroup/$NS-k4" --detach --with-ns "network:/var/run/netns/$netns" "$PODINFO" "$NS-k4"
until curl --silent --show-error --fail --max-time 2 "http://$ip:9898/" | has '"version"'; do sleep 0.1; done
cni DEL
ip link delete "$bridge"; ip netns delete "$netns"; rm -rf -- "$data"
flock /proc/sys/net/ipv4/ip_forward sh -c 'd="$1/$(stat -L -c %i /proc/self/ns/net)"; rm -f "$d/claim.$2"; if [ -d "$d" ] && ! ls -A "$d" | grep -q "^claim\."; then [ "$(cat "$d/original" 2>/dev/null)" = 0 ] && sysctl -q -w net.ipv4.ip_forward=0; rm -rf "$d"; rmdir "$1" 2>/dev/null; fi; true' sh /run/lesson-check-ip-forward "$NS"
ctr --namespace "$NS" tasks delete --force "$NS-k4" >/dev/null 2>&1; ctr --namespace "$NS" containers delete "$NS-k4"
# the run's namespace: its images, then the namespace (retried while GC still holds content)
ctr --namespace "$NS" images rm --sync $(ctr --namespace "$NS" images ls -q) >/dev/null
until ctr namespaces remove "$NS" >/dev/null 2>&1; do sleep 0.1; done
# the end of the run (helpers/run/run-traces.ts): its namespaces looked for, containerd's and runc's
# per-namespace folders and its cgroups swept; then its record goes
ctr namespaces ls -q >/dev/null
sh -c 'd=$1; shift; for p in "$@"; do [ -d "$p" ] && find "$p" -mindepth 1 -maxdepth 1 -type d \( -name "$d" -o -name "$d-*" \) -exec rmdir -- {} +; done; true' \
  sh "$NS" "$P/run/containerd/io.containerd.runtime.v2.task" "$P/run/containerd/runc" /run/containerd/runc "$P/run/runc" \
  "$P/var/lib/containerd/io.containerd.runtime.v2.task"
find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -depth -type d \( -name "$NS" -o -path "*/$NS/*" \) -exec rmdir -- {} +
rm -f -- "$RUNS/$id.json"
