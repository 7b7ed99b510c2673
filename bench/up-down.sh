#!/usr/bin/env bash
# bench/up-down.sh — `tailab up` / `tailab down` against the same work done by a
# plain virsh script, on a private libvirtd started for the run (as root).
#
#   bash bench/up-down.sh
#
# Environment: BENCH_CANDIDATES (12), BENCH_MACHINES (3 containers each, all
# running sshd, `ready: ssh`), BENCH_PARALLEL (8: tailab --parallel and xargs -P),
# BENCH_RUNS (2 rounds), BENCH_KEEP=1 keeps the work dir (logs, XML, spans),
# BENCH_BASELINES (the virsh scripts run, "" for none), BENCH_BASE_BIN (another
# tailab binary run the same way each round, before this tree's: an A/B).
#
# Each round, on the same daemon, one after the other:
#   1. virsh, sequential, the recipe's files (see prepare): net-define +
#      net-start each network, define+start each container (one virsh process
#      per object), then wait until every management address answers with an
#      SSH banner; then the parallel teardown.
#   2. virsh, parallel: the same with xargs -P BENCH_PARALLEL; teardown (timed):
#      destroy+undefine the domains, then the networks, xargs -P BENCH_PARALLEL.
#   3. the same as 2 with tailab's files.
#   4. tailab up --count N --parallel P --force until every machine is ready (under
#      /usr/bin/time -v: peak RSS), then tailab down (timed).
# The virsh script's files (init scripts, sshd host keys, XML) are written
# before its clock starts; tailab's clock includes writing its own.
# Everything that dials a lab address runs in the daemon's network namespace.
# Output: a table of seconds per round, the ratios tailab / parallel script,
# tailab's peak RSS. See docs/benchmarks.md.
set -euo pipefail

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log() { echo "bench: $*" >&2; }

N=${BENCH_CANDIDATES:-12}
M=${BENCH_MACHINES:-3}
P=${BENCH_PARALLEL:-8}
RUNS=${BENCH_RUNS:-2}
# BENCH_BASELINES: the virsh scripts run each round (MODE:LAYOUT; "" for
# tailab alone, when only its own breakdown is wanted).
BASELINES=${BENCH_BASELINES-seq:recipe par:recipe par:tailab}

# ---- inner phases (run inside the daemon's network namespace) ---------------

uri() { echo "$TAILAB_LXC_URI"; }

# wait_ssh ADDR: poll ADDR:22 until it sends an SSH banner, like tailab's
# readiness check (1 s per try, 0.1 s between tries), for at most 60 s.
wait_ssh() {
  local a=$1 end=$((SECONDS + 60))
  until timeout 1 bash -c "exec 3<>/dev/tcp/$a/22 && IFS= read -r -t 1 l <&3 && [[ \$l == SSH-* ]]" 2>/dev/null; do
    ((SECONDS < end)) || { echo "bench: $a: no SSH banner after 60 s" >&2; return 1; }
    sleep 0.1
  done
}

# virsh_up seq|par VSDIR: networks, then containers, then wait for every sshd.
virsh_up() {
  local mode=$1 vs=$2 u
  u=$(uri)
  virsh -q -c "$u" "net-define $vs/net-mgmt.xml; net-start bench-mgmt" >/dev/null
  if [[ $mode == seq ]]; then
    local f n
    for f in "$vs"/net-c*.xml; do
      n=$(basename "$f" .xml)
      virsh -q -c "$u" "net-define $f; net-start bench-${n#net-}" >/dev/null
    done
    for f in "$vs"/dom-*.xml; do
      n=$(basename "$f" .xml)
      virsh -q -c "$u" "define $f; start bench-${n#dom-}" >/dev/null
    done
  else
    export u
    # shellcheck disable=SC2016
    ls "$vs"/net-c*.xml | xargs -P "$P" -I{} sh -c 'n=$(basename {} .xml); virsh -q -c "$u" "net-define {}; net-start bench-${n#net-}" >/dev/null'
    # shellcheck disable=SC2016
    ls "$vs"/dom-*.xml | xargs -P "$P" -I{} sh -c 'n=$(basename {} .xml); virsh -q -c "$u" "define {}; start bench-${n#dom-}" >/dev/null'
  fi
  local pids=() a rc=0
  while read -r a; do
    wait_ssh "$a" &
    pids+=($!)
  done <"$vs/addrs"
  for a in "${pids[@]}"; do wait "$a" || rc=1; done
  return $rc
}

# virsh_down: destroy+undefine every bench- domain, then every bench- network,
# BENCH_PARALLEL at once, then remove the containers' dirs.
virsh_down() {
  local vs=$1 u
  u=$(uri)
  export u
  # shellcheck disable=SC2016
  virsh -q -c "$u" list --all --name | grep '^bench-' |
    xargs -r -P "$P" -I{} sh -c 'virsh -q -c "$u" "destroy {}; undefine {}" >/dev/null'
  # shellcheck disable=SC2016
  virsh -q -c "$u" net-list --all --name | grep '^bench-' |
    xargs -r -P "$P" -I{} sh -c 'virsh -q -c "$u" "net-destroy {}; net-undefine {}" >/dev/null'
  rm -rf "$vs/m"
}

case ${1:-} in
_virsh-up) shift; virsh_up "$@"; exit ;;
_virsh-down) shift; virsh_down "$@"; exit ;;
esac

# ---- outer driver ---------------------------------------------------------------

[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 2; }
cd "$(dirname "$0")/.."
root=$PWD
self=$root/bench/up-down.sh
[[ -x /usr/bin/time ]] || apt-get install -y -q time >/dev/null
command -v ssh-keygen >/dev/null || { echo "bench: needs openssh-client" >&2; exit 2; }

work=$(mktemp -d /tmp/tlbench-XXXXXX)
daemon=$work/d
vs=$work/vs
mkdir -p "$vs"
started=0
cleanup() {
  set +e
  if ((started)); then
    ip netns exec "$TAILAB_NETNS" "$work/tailab" down --session bench >/dev/null 2>&1
    ip netns exec "$TAILAB_NETNS" bash "$self" _virsh-down "$vs" 2>/dev/null
  fi
  bash "$root/scripts/libvirtd-netns.sh" stop "$daemon" 2>/dev/null
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

log "building tailab"
go build -ldflags "-X main.version=$(bash scripts/version.sh)" -o "$work/tailab" ./cmd/tailab
bash scripts/libvirtd-netns.sh start "$daemon" >/dev/null
started=1
set -a
. "$daemon/env"
set +a
export TAILAB_DATA_DIR=$work/data TAILAB_VIRT_TYPE=qemu P
inns() { ip netns exec "$TAILAB_NETNS" "$@"; }

# The lab: one isolated network, M containers with sshd, ready when sshd answers.
lab=$work/bench-ssh.yaml
{
  cat <<EOF
name: bench-ssh
description: benchmark lab, $M containers running sshd
secrets:
  key: {ssh_key: true}
networks:
  - {name: lan, cidr: 10.30.0.0/24}
defaults:
  kind: container
  os: linux
  memory: 64MiB
  cpus: 1
  services: [sshd]
  credentials: {ssh: {user: root, key: key}}
  ready: {ssh: true, timeout: 60s}
machines:
EOF
  for ((m = 1; m <= M; m++)); do
    echo "  - {name: m$m, role: server, nics: [{network: lan, address: 10.30.0.$((10 + m))}]}"
  done
} >"$lab"

# The plain script's files are written before its clock starts, in one of two
# layouts:
#   recipe: what ../shared/recipes/libvirtd.md measured (the issue's reference:
#     3.5-3.6 s with xargs -P 8): a private init.sh, sshd_config, host key and
#     authorized_keys per container, an init that runs hostname and one `ip` per
#     NIC;
#   tailab: what tailab writes now (the session's shared init and sshd config
#     at /srv/lib, the machine's data in <initenv>, one host key per container):
#     the strictest baseline, the same daemon and kernel work as tailab's.
# Both give the XML tailab would write otherwise (same mounts, NICs, isolated
# management port).
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key" -C bench

# recipe_files DIR M writes the recipe's private files of container mM in DIR:
# init.sh, sshd_config, host key and authorized_keys.
recipe_files() {
  local d=$1 m=$2
  mkdir -p "$d/srv/ssh"
  cat >"$d/srv/init.sh" <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
pids=""
stop() { [ -n "\$pids" ] && kill \$pids 2>/dev/null; exit 0; }
trap stop TERM INT PWR HUP
hostname m$m 2>/dev/null
ip link set lo up
ip link set eth0 up
ip link set eth1 up
mkdir -p /run/sshd && chmod 0755 /run/sshd
/usr/sbin/sshd -D -e -f /srv/sshd_config >/run/sshd.log 2>&1 &
pids="\$pids \$!"
while :; do sleep 3600 & wait \$!; done
EOF
  chmod 755 "$d/srv/init.sh"
  cat >"$d/srv/sshd_config" <<'EOF'
Port 22
ListenAddress 0.0.0.0
HostKey /srv/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /srv/ssh/authorized_keys
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
EOF
  ssh-keygen -q -t ed25519 -N '' -f "$d/srv/ssh/ssh_host_ed25519_key" -C "$(basename "$d")"
  cp "$work/client_key.pub" "$d/srv/ssh/authorized_keys"
}

# prepare LAYOUT (recipe | tailab) writes the networks' XML, and each
# container's dir and domain XML in that layout.
prepare() {
  local layout=$1 key="" libfs="" c m cc d os mgmt
  rm -rf "$vs/m"
  mkdir -p "$vs/m"
  : >"$vs/addrs"
  if [[ $layout == tailab ]]; then
    mkdir -p "$vs/m/lib"
    cp "$root/templates/lxc/init.sh" "$root/templates/lxc/sshd_config" "$vs/m/lib/"
    chmod 755 "$vs/m/lib/init.sh"
    key=$(cat "$work/client_key.pub")
    libfs="<filesystem type='mount'><source dir='$vs/m/lib'/><target dir='/srv/lib'/><readonly/></filesystem>"
  fi
  cat >"$vs/net-mgmt.xml" <<EOF
<network><name>bench-mgmt</name><bridge name='tbvmgmt' stp='off'/><ip address='10.240.0.1' prefix='16'/></network>
EOF
  for ((c = 1; c <= N; c++)); do
    cc=$(printf c%02d "$c")
    cat >"$vs/net-$cc-lan.xml" <<EOF
<network><name>bench-$cc-lan</name><bridge name='tbv$cc' stp='off'/></network>
EOF
    for ((m = 1; m <= M; m++)); do
      d=$vs/m/$cc-m$m
      mgmt=10.240.$c.$((9 + m))
      if [[ $layout == recipe ]]; then
        recipe_files "$d" "$m"
        os="<os><type>exe</type><init>/srv/init.sh</init></os>"
      else
        mkdir -p "$d/srv"
        ssh-keygen -q -t ed25519 -N '' -f "$d/srv/ssh_host_ed25519_key" -C "$cc-m$m"
        rm -f "$d/srv/ssh_host_ed25519_key.pub"
        os="<os>
    <type>exe</type><init>/srv/lib/init.sh</init>
    <initenv name='TAILAB_SESSION'>bench</initenv>
    <initenv name='TAILAB_CANDIDATE'>$cc</initenv>
    <initenv name='TAILAB_MACHINE'>m$m</initenv>
    <initenv name='TAILAB_HOSTNAME'>m$m</initenv>
    <initenv name='TAILAB_NICS'>eth0 eth1</initenv>
    <initenv name='TAILAB_ANNOUNCE'>eth1=$mgmt</initenv>
    <initenv name='TAILAB_SERVICES'>sshd</initenv>
    <initenv name='TAILAB_KEYS'>$key</initenv>
  </os>"
      fi
      cat >"$vs/dom-$cc-m$m.xml" <<EOF
<domain type='lxc'>
  <name>bench-$cc-m$m</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  $os
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <filesystem type='mount'><source dir='/'/><target dir='/'/><readonly/></filesystem>
    <filesystem type='ram'><source usage='64' units='MiB'/><target dir='/run'/></filesystem>
    <filesystem type='ram'><source usage='64' units='MiB'/><target dir='/tmp'/></filesystem>
    <filesystem type='mount'><source dir='$TAILAB_HOSTVAR'/><target dir='/var'/><readonly/></filesystem>
    <filesystem type='ram'><source usage='1' units='MiB'/><target dir='/root'/></filesystem>
    <filesystem type='ram'><source usage='1' units='MiB'/><target dir='/home'/></filesystem>
    <filesystem type='ram'><source usage='1' units='MiB'/><target dir='$vs'/></filesystem>
    <filesystem type='mount'><source dir='$d/srv'/><target dir='/srv'/></filesystem>
    $libfs
    <interface type='network'>
      <mac address='$(printf '52:54:01:%02x:%02x:00' "$c" "$m")'/><source network='bench-$cc-lan'/>
      <ip address='10.30.0.$((10 + m))' family='ipv4' prefix='24'/>
    </interface>
    <interface type='network'>
      <mac address='$(printf '52:54:01:%02x:%02x:63' "$c" "$m")'/><source network='bench-mgmt'/>
      <ip address='$mgmt' family='ipv4' prefix='16'/><port isolated='yes'/>
    </interface>
    <console type='pty'><target type='lxc'/></console>
  </devices>
</domain>
EOF
      echo "$mgmt" >>"$vs/addrs"
    done
  done
}

# leftovers fails when a round left a domain or network behind.
leftovers() {
  local l
  l=$(
    virsh -q -c "$TAILAB_LXC_URI" list --all --name
    virsh -q -c "$TAILAB_LXC_URI" net-list --all --name
  )
  l=$(grep -E '^(bench-|tl-)' <<<"$l" || true)
  [[ -z $l ]] || { log "left behind: $l"; return 1; }
}

rss_mib() { awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

# containers_pss prints "COUNT PSS_MIB CTRL_MIB": how many containers run on
# the daemon, and the mean PSS (proportional set size: shared pages split
# between their users, smem's measure) of each, all its processes (its
# libvirt_lxc controller and everything under it: init, sshd...), then of
# its controller alone. A container is a libvirt_lxc in the daemon's network
# namespace (other daemons' are not ours).
containers_pss() {
  local ns p roots=()
  ns=$(readlink "/proc/$TAILAB_LIBVIRTD_PID/ns/net")
  for p in $(pgrep -x libvirt_lxc || true); do
    [[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$ns" ]] && roots+=("$p")
  done
  ((${#roots[@]})) || { echo "0 - -"; return; }
  ps -e -o pid=,ppid= | awk -v roots="${roots[*]}" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, q, " ")
      for (i = 1; i <= n; i++) print "c " q[i]
      while (n > 0) {
        p = q[n--]; m = split(kids[p], k, " ")
        for (j = 1; j <= m; j++) { print "p " k[j]; q[++n] = k[j] }
      }
    }' | while read -r kind pid; do
    awk -v kind="$kind" '/^Pss:/ { print kind, $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true
  done | awk -v n="${#roots[@]}" '
    { all += $2; if ($1 == "c") ctl += $2 }
    END { printf "%d %.2f %.2f\n", n, all / n / 1024, ctl / n / 1024 }'
}

# tailab_round BIN KEY: BIN up until every machine is ready, then down, timed
# into R[KEY-up,$r] and R[KEY-down,$r] (and for tailab: RSS, PSS, spans).
tailab_round() {
  local bin=$1 key=$2 ready
  rm -rf "$TAILAB_DATA_DIR"
  t0=$(now)
  TAILAB_TIMINGS=$work/$key-up-$r.timings inns /usr/bin/time -v -o "$work/$key-up-$r.time" "$bin" up "$lab" --session bench --count "$N" --parallel "$P" --force \
    >"$work/$key-up-$r.log" 2>&1 || { cat "$work/$key-up-$r.log" >&2; exit 1; }
  R[$key-up,$r]=$(since "$t0")
  ready=$(grep -c ' ready (' "$work/$key-up-$r.log" || true)
  ((ready == machines)) || { log "only $ready of $machines machines ready"; cat "$work/$key-up-$r.log" >&2; exit 1; }
  if [[ $key == tailab ]]; then
    R[rss-up,$r]=$(rss_mib "$work/$key-up-$r.time")
    R[per-machine,$r]=$(awk -v t="${R[tailab-up,$r]}" -v n="$machines" 'BEGIN { printf "%.0f", t * 1000 / n }')
    read -r _ R[pss,$r] R[pss-ctl,$r] < <(containers_pss)
  fi
  t0=$(now)
  TAILAB_TIMINGS=$work/$key-down-$r.timings inns /usr/bin/time -v -o "$work/$key-down-$r.time" "$bin" down --session bench >"$work/$key-down-$r.log" 2>&1 ||
    { cat "$work/$key-down-$r.log" >&2; exit 1; }
  R[$key-down,$r]=$(since "$t0")
  [[ $key != tailab ]] || R[rss-down,$r]=$(rss_mib "$work/$key-down-$r.time")
  leftovers
}

declare -A R
machines=$((N * M))
log "$N candidates x $M containers = $machines machines, parallel $P, $RUNS round(s); work dir $work"
for ((r = 1; r <= RUNS; r++)); do
  for run in $BASELINES; do
    mode=${run%%:*} layout=${run#*:}
    key=$mode-$layout
    prepare "$layout"
    t0=$(now)
    inns bash "$self" _virsh-up "$mode" "$vs"
    R[virsh-$key-up,$r]=$(since "$t0")
    t0=$(now)
    inns bash "$self" _virsh-down "$vs"
    R[virsh-$key-down,$r]=$(since "$t0")
    leftovers
    log "round $r: virsh $mode ($layout's files) up ${R[virsh-$key-up,$r]} s, parallel down ${R[virsh-$key-down,$r]} s"
  done
  if [[ -n ${BENCH_BASE_BIN:-} ]]; then
    tailab_round "$BENCH_BASE_BIN" base
    log "round $r: base up ${R[base-up,$r]} s, down ${R[base-down,$r]} s"
  fi
  R[load,$r]=$(cut -d' ' -f1 /proc/loadavg)
  tailab_round "$work/tailab" tailab
  log "round $r: tailab up ${R[tailab-up,$r]} s (peak RSS ${R[rss-up,$r]} MiB), down ${R[tailab-down,$r]} s"
done

row() {
  local name=$1 key=$2 r
  printf '%-36s' "$name"
  for ((r = 1; r <= RUNS; r++)); do printf ' %9s' "${R[$key,$r]:--}"; done
  echo
}
ratio() {
  local name=$1 a=$2 b=$3 r
  printf '%-36s' "$name"
  for ((r = 1; r <= RUNS; r++)); do
    awk -v a="${R[$a,$r]:-}" -v b="${R[$b,$r]:-}" 'BEGIN { if (a == "" || b == "") printf " %9s", "-"; else printf " %9.2f", a / b }'
  done
  echo
}
echo
echo "tailab bench: $N candidates x $M containers ($machines machines, $((N + 1)) networks), parallel $P"
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, libvirt $(virsh -v), $(uname -r)"
printf '%-36s' "seconds"
for ((r = 1; r <= RUNS; r++)); do printf ' %9s' "round $r"; done
echo
row "virsh sequential up, recipe's files" virsh-seq-recipe-up
row "virsh -P $P up, recipe's files" virsh-par-recipe-up
row "virsh -P $P up, tailab's files" virsh-par-tailab-up
row "tailab up (to ready)" tailab-up
row "virsh -P $P destroy+undefine" virsh-par-recipe-down
row "  (after the sequential up)" virsh-seq-recipe-down
row "  (after tailab's files)" virsh-par-tailab-down
row "tailab down" tailab-down
[[ -z ${BENCH_BASE_BIN:-} ]] || {
  row "base up ($BENCH_BASE_BIN)" base-up
  row "base down" base-down
  ratio "up: tailab / base" tailab-up base-up
  ratio "down: tailab / base" tailab-down base-down
}
ratio "up: tailab / -P $P, recipe's files" tailab-up virsh-par-recipe-up
ratio "up: tailab / -P $P, tailab's files" tailab-up virsh-par-tailab-up
ratio "down: tailab / -P $P destroy" tailab-down virsh-par-recipe-down
row "tailab up peak RSS (MiB)" rss-up
row "tailab down peak RSS (MiB)" rss-down
row "tailab up per machine (ms)" per-machine
row "PSS per container (MiB)" pss
row "  of which libvirt_lxc (MiB)" pss-ctl
row "load average (1 min) at tailab up" load
echo
echo "where round $RUNS went (ms; bench/timings.sh):"
echo "up:"
bash "$root/bench/timings.sh" "$work/tailab-up-$RUNS.timings"
echo "down:"
bash "$root/bench/timings.sh" "$work/tailab-down-$RUNS.timings"
